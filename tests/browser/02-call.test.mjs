// The core flow with real browsers and the real server: Start, match,
// connect, decode each other's video, chat both ways, Next (button and Esc)
// brings a third person, Report and Stop behave as specified.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertClean,
  axe,
  clickStart,
  closeAll,
  hook,
  launch,
  openUser,
  snap,
  statusOf,
  waitFramesDecoded,
  waitPhase,
} from './lib.mjs';

async function sendChat(page, text) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

async function lastMessage(page, who) {
  return page.locator(`#chat-log .msg-${who} .msg-text`).last().textContent({ timeout: 10000 });
}

describe('two strangers meet', () => {
  let browser;
  let a;
  let b;
  let c;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await closeAll(a, b, c);
    await browser?.close();
  });

  it('Start, searching, matched, connected, and both decode video', { timeout: 90000 }, async () => {
    a = await openUser(browser, { name: 'A' });
    b = await openUser(browser, { name: 'B' });
    await clickStart(a.page);
    await waitPhase(a.page, 'searching');
    assert.equal(await statusOf(a.page), 'Looking for someone...');
    assert.equal(await a.page.locator('#local-video').isVisible(), true, 'own preview shows');
    assert.equal(await a.page.locator('#local-video').evaluate((v) => v.classList.contains('mirrored')), true, 'preview is mirrored');
    await sleep(600); // let the progress animation settle for the picture
    await snap(a.page, 'searching');

    await clickStart(b.page);
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
    assert.equal(await statusOf(a.page), 'Connected');
    const [sa, sb] = await Promise.all([waitFramesDecoded(a.page), waitFramesDecoded(b.page)]);
    assert.ok(sa.framesDecoded > 0 && sb.framesDecoded > 0, `frames decoded: A ${sa.framesDecoded}, B ${sb.framesDecoded}`);
    const roles = await Promise.all([hook(a.page, 's.state.pair.role'), hook(b.page, 's.state.pair.role')]);
    assert.deepEqual(roles.sort(), ['answerer', 'offerer']);
    // Default fake camera shows no face: SafeView keeps it blurred.
    assert.equal(await hook(a.page, 's.remoteBlurred'), true);
  });

  it('chat goes both ways over the data channel, text only, with a typing indicator', { timeout: 60000 }, async () => {
    await a.page.getByRole('textbox', { name: 'Message' }).waitFor({ state: 'visible' });
    await a.page.waitForFunction(() => !document.getElementById('chat-input').disabled);
    await b.page.waitForFunction(() => !document.getElementById('chat-input').disabled);

    await a.page.getByRole('textbox', { name: 'Message' }).pressSequentially('hel');
    await b.page.getByText('Stranger is typing...').waitFor({ timeout: 5000 });
    await a.page.getByRole('textbox', { name: 'Message' }).fill('');

    await sendChat(a.page, 'hello from A <b>not bold</b>');
    assert.equal(await lastMessage(b.page, 'stranger'), 'hello from A <b>not bold</b>');
    assert.equal(await b.page.locator('#chat-log b').count(), 0, 'markup is never interpreted');
    assert.equal(await b.page.getByText('Stranger is typing...').count(), 0, 'typing ends with the message');
    await b.page.getByRole('textbox', { name: 'Message' }).fill('hi A, B here');
    await b.page.getByRole('button', { name: 'Send' }).click();
    assert.equal(await lastMessage(a.page, 'stranger'), 'hi A, B here');
    assert.equal(await lastMessage(a.page, 'me'), 'hello from A <b>not bold</b>');

    // Length limit: 500 characters at most go out.
    await sendChat(a.page, 'x'.repeat(700));
    assert.equal((await lastMessage(b.page, 'stranger')).length, 500);

    const violations = await axe(a.page);
    assert.deepEqual(violations, [], `axe (connected): ${JSON.stringify(violations, null, 2)}`);
    await snap(a.page, 'connected');
  });

  it('Next (Esc) brings a third person; the left one sees "Stranger left"', { timeout: 90000 }, async () => {
    c = await openUser(browser, { name: 'C' });
    await clickStart(c.page);
    await waitPhase(c.page, 'searching');

    // Esc on A: A leaves B and meets C (who was waiting).
    await a.page.locator('body').press('Escape');
    await waitPhase(b.page, 'ended', 10000);
    assert.equal(await statusOf(b.page), 'Stranger left');
    assert.equal(await b.page.getByText('Stranger left.').count(), 1, 'chat note');
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(c.page, 'connected', 20000)]);
    await Promise.all([waitFramesDecoded(a.page), waitFramesDecoded(c.page)]);
    assert.equal(await a.page.locator('#chat-log .msg-stranger').count(), 0, 'a new chat starts empty');
    await sendChat(c.page, 'I am C');
    assert.equal(await lastMessage(a.page, 'stranger'), 'I am C');
    assert.equal(await hook(a.page, 's.livePeers'), 1, 'the old connection is closed');

    // B searches again by itself after the pause; park B so it does not
    // interfere with what follows.
    await waitPhase(b.page, 'searching', 10000);
    await b.page.getByRole('button', { name: 'Stop' }).click();
    await waitPhase(b.page, 'idle');
  });

  it('Next button works the same way', { timeout: 90000 }, async () => {
    await b.page.getByRole('button', { name: 'Start', exact: true }).click();
    await waitPhase(b.page, 'searching');
    await c.page.getByRole('button', { name: 'Next' }).click();
    // C leaves A; C meets B (waiting); A sees the stranger leave.
    await waitPhase(a.page, 'ended', 10000);
    await Promise.all([waitPhase(b.page, 'connected', 20000), waitPhase(c.page, 'connected', 20000)]);
  });

  it('Report: reasons dialog, moves on, and the two are never matched again', { timeout: 90000 }, async () => {
    // A auto-searches after "Stranger left"; stop it so B and C are alone.
    await waitPhase(a.page, ['searching', 'connecting', 'connected'], 10000);
    await a.page.getByRole('button', { name: 'Stop' }).click();
    await waitPhase(a.page, 'idle');

    await c.page.getByRole('button', { name: 'Report' }).click();
    const dialog = c.page.getByRole('dialog', { name: 'Report this stranger' });
    await dialog.waitFor();
    for (const r of ['Nudity or sexual content', 'Harassment or hate', 'Spam or scam', 'Looks under 18', 'Something else']) {
      await dialog.getByRole('radio', { name: r }).waitFor();
    }
    // Submitting without a reason asks for one.
    await dialog.getByRole('button', { name: 'Report and move on' }).click();
    await dialog.getByText('Choose a reason.').waitFor();
    // Esc closes the dialog without leaving the call.
    await c.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await hook(c.page, 's.phase'), 'connected', 'Esc in the dialog does not skip');

    await c.page.getByRole('button', { name: 'Report' }).click();
    await dialog.getByRole('radio', { name: 'Spam or scam' }).check();
    await dialog.getByRole('button', { name: 'Report and move on' }).click();
    await waitPhase(c.page, 'searching');
    assert.match(await statusOf(c.page), /Thanks for reporting/);
    await waitPhase(b.page, 'ended', 10000);
    assert.equal(await hook(b.page, 's.state.leftReason'), 'report');
    // B searches again; the reporter and the reported are never paired again.
    await waitPhase(b.page, 'searching', 10000);
    await sleep(3000);
    assert.equal(await hook(b.page, 's.phase'), 'searching');
    assert.equal(await hook(c.page, 's.phase'), 'searching');
  });

  it('Stop: leaves, releases the camera, closes every connection; the partner is told', { timeout: 90000 }, async () => {
    // A comes back and meets one of the two waiting.
    await clickStart(a.page);
    await waitPhase(a.page, 'connected', 20000);
    const partner = (await hook(b.page, 's.phase')) === 'connected' ? b : c;
    await waitPhase(partner.page, 'connected', 20000);

    await a.page.getByRole('button', { name: 'Stop' }).click();
    await waitPhase(a.page, 'idle');
    assert.equal(await statusOf(a.page), 'Ready when you are');
    await waitPhase(partner.page, 'ended', 10000);
    assert.equal(await hook(partner.page, 's.state.leftReason'), 'leave');
    assert.equal(await hook(a.page, 's.livePeers'), 0);
    assert.equal(await hook(a.page, 's.liveLocalTracks'), 0, 'camera and microphone released');
    assert.equal(await a.page.locator('#remote-video').evaluate((v) => v.srcObject), null);
    assert.equal(await a.page.getByRole('button', { name: 'Start', exact: true }).isVisible(), true);
    for (const u of [a, b, c]) await assertClean(u);
  });
});
