// The contact-details warning: a chat message that looks like a phone number,
// an e-mail address, a handle or a link is held until the person says Send;
// Edit (or Esc) keeps it in the box and sends nothing. Asked once per
// stranger; ordinary text with numbers goes straight out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertClean, axe, closeAll, connectPair, launch, snap } from './lib.mjs';

const box = (page) => page.getByRole('textbox', { name: 'Message' });
const received = (page) => page.locator('#chat-log .msg-stranger .msg-text').allTextContents();
const dialog = (page) => page.getByRole('alertdialog', { name: 'You are about to share contact details with a stranger' });

async function typeAndEnter(page, text) {
  await box(page).fill(text);
  await box(page).press('Enter');
}

describe('contact-details warning', () => {
  let browser;
  let a;
  let b;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await closeAll(a, b);
    await browser?.close();
  });

  it('asks before contact details go out, once per stranger, and never for ordinary text', { timeout: 90000 }, async () => {
    [a, b] = await connectPair(browser);
    await a.page.waitForFunction(() => !document.getElementById('chat-input').disabled);
    await b.page.waitForFunction(() => !document.getElementById('chat-input').disabled);

    // Ordinary text with numbers: no question.
    await typeAndEnter(a.page, 'I am 25, see you at 10:30, it was $19.99');
    await b.page.getByText('I am 25, see you at 10:30, it was $19.99').waitFor({ timeout: 10000 });
    assert.equal(await dialog(a.page).count(), 0);

    // A handle: held, the dialog opens with Edit focused.
    await typeAndEnter(a.page, 'add me on snap jake_99');
    await dialog(a.page).waitFor({ timeout: 5000 });
    assert.equal(await a.page.evaluate(() => document.activeElement?.id), 'contact-edit', 'focus on Edit');
    assert.match(await a.page.locator('#contact-text').textContent(), /social media handle/);
    assert.equal(await a.page.locator('#contact-preview').textContent(), 'add me on snap jake_99');
    assert.deepEqual(await axe(a.page), [], 'axe with the warning open');
    await snap(a.page, 'contact-warning');

    // Edit: nothing sent, the text is still there, focus back in the box.
    await dialog(a.page).getByRole('button', { name: 'Edit', exact: true }).click();
    await dialog(a.page).waitFor({ state: 'hidden' });
    assert.equal(await box(a.page).inputValue(), 'add me on snap jake_99');
    assert.equal(await a.page.evaluate(() => document.activeElement?.id), 'chat-input');

    // Esc closes it too, and is not Next while it is open.
    await box(a.page).press('Enter');
    await dialog(a.page).waitFor();
    await a.page.keyboard.press('Escape');
    await dialog(a.page).waitFor({ state: 'hidden' });
    assert.equal(await a.page.evaluate(() => window.__serendip.phase), 'connected', 'Esc in the dialog is not Next');
    await sleep(500);
    assert.deepEqual(await received(b.page), ['I am 25, see you at 10:30, it was $19.99'], 'nothing held was sent');

    // Send, by keyboard: Tab from Edit to Send, Enter.
    await box(a.page).press('Enter');
    await dialog(a.page).waitFor();
    await a.page.keyboard.press('Tab');
    assert.equal(await a.page.evaluate(() => document.activeElement?.id), 'contact-send');
    await a.page.keyboard.press('Enter');
    await b.page.getByText('add me on snap jake_99').waitFor({ timeout: 10000 });
    assert.equal(await box(a.page).inputValue(), '');

    // Asked once for this stranger: the next one goes straight out.
    await typeAndEnter(a.page, 'or call +44 7700 900123');
    await b.page.getByText('or call +44 7700 900123').waitFor({ timeout: 10000 });
    assert.equal(await dialog(a.page).count(), 0);

    // The other side has its own question: e-mail spelled out.
    await typeAndEnter(b.page, 'john at gmail dot com');
    await dialog(b.page).waitFor({ timeout: 5000 });
    assert.match(await b.page.locator('#contact-text').textContent(), /e-mail address/);
    await dialog(b.page).getByRole('button', { name: 'Send', exact: true }).click();
    await a.page.getByText('john at gmail dot com').waitFor({ timeout: 10000 });

    await assertClean(a);
    await assertClean(b);
  });
});
