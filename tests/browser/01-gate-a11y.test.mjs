// The first-visit gate, keyboard operation, and accessibility (axe-core) of
// the gate and idle views.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, axe, closeAll, launch, openUser, snap, statusOf } from './lib.mjs';

describe('gate and idle views', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it('shows the gate first, is keyboard-operable, remembers acceptance, and passes axe', { timeout: 60000 }, async () => {
    const u = await openUser(browser, { gate: true, name: 'gate' });
    const { page } = u;
    try {
      await page.getByRole('heading', { name: 'Welcome to Serendip' }).waitFor();
      assert.equal(await page.locator('#app').isVisible(), false, 'the app is hidden behind the gate');
      const violations = await axe(page);
      assert.deepEqual(violations, [], `axe (gate): ${JSON.stringify(violations, null, 2)}`);
      await snap(page, 'gate');

      // Continue without ticking: an error, focus on the checkbox.
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('Please confirm you are 18 or older').waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'gate-check');

      // Keyboard only: Space ticks, Tab to Continue, Enter submits.
      await page.keyboard.press('Space');
      await page.keyboard.press('Tab');
      // Keyboard focus is visible.
      const ring = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return { id: document.activeElement.id, style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
      });
      assert.equal(ring.id, 'gate-btn');
      assert.ok(ring.style !== 'none' && ring.width >= 2, `visible focus ring (${JSON.stringify(ring)})`);
      await page.keyboard.press('Enter');
      await page.getByRole('button', { name: 'Start', exact: true }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'start-btn', 'focus moves to Start');
      await page.waitForFunction(() => window.__serendip?.state.conn === 'open');

      // Remembered on reload.
      await page.reload();
      await page.getByRole('button', { name: 'Start', exact: true }).waitFor();
      assert.equal(await page.locator('#gate').isVisible(), false);
      await assertClean(u);
    } finally {
      await closeAll(u);
    }
  });

  it('idle view: labelled controls, status, online count, axe clean, screenshot', { timeout: 60000 }, async () => {
    const u = await openUser(browser, { name: 'idle' });
    const { page } = u;
    try {
      await page.waitForFunction(() => window.__serendip?.state.conn === 'open');
      assert.equal(await statusOf(page), 'Ready when you are');
      assert.match(await page.locator('#online-pill').innerText(), /\d+\s+online/);
      for (const name of ['Start', 'Settings']) await page.getByRole('button', { name, exact: true }).waitFor();
      await page.getByRole('textbox', { name: /Interests/ }).waitFor();
      await page.getByRole('radio', { name: 'Text only' }).waitFor();

      // Interests chip input: Enter and comma add, normalised, duplicates dropped, max 5.
      const input = page.getByRole('textbox', { name: /Interests/ });
      await input.fill('  Music ');
      await input.press('Enter');
      await input.pressSequentially('films,music,');
      await page.getByRole('button', { name: 'Remove films' }).waitFor();
      const chips = await page.locator('#chip-list li span').allTextContents();
      assert.deepEqual(chips, ['music', 'films']);
      await page.getByRole('button', { name: 'Remove films' }).click();
      assert.deepEqual(await page.locator('#chip-list li span').allTextContents(), ['music']);

      // Settings dialog: opens, says Hide my IP is unavailable without TURN, Esc closes.
      await page.getByRole('button', { name: 'Settings' }).click();
      const dialog = page.getByRole('dialog', { name: 'Settings' });
      await dialog.waitFor();
      assert.equal(await page.getByRole('switch', { name: 'Hide my IP' }).isDisabled(), true);
      await page.getByText('Unavailable: this server has no relay (TURN) configured').waitFor();
      const dv = await axe(page);
      assert.deepEqual(dv, [], `axe (settings): ${JSON.stringify(dv, null, 2)}`);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });

      const violations = await axe(page);
      assert.deepEqual(violations, [], `axe (idle): ${JSON.stringify(violations, null, 2)}`);
      await snap(page, 'idle');
      await assertClean(u);
    } finally {
      await closeAll(u);
    }
  });

  it('prefers-reduced-motion stops the search animation', { timeout: 60000 }, async () => {
    const u = await openUser(browser, { name: 'calm', reducedMotion: 'reduce' });
    try {
      await u.page.getByRole('button', { name: 'Start', exact: true }).click();
      await u.page.waitForFunction(() => window.__serendip.phase === 'searching');
      const anim = await u.page.evaluate(() => getComputedStyle(document.querySelector('.radar span')).animationName);
      assert.equal(anim, 'none');
      await u.page.getByRole('button', { name: 'Stop' }).click();
    } finally {
      await closeAll(u);
    }
  });

  it('camera refused: a clear message and a text-only way in', { timeout: 60000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(() => {
      localStorage.setItem('serendip.settings.v1', JSON.stringify({ gateAccepted: 1 }));
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
    });
    const page = await context.newPage();
    try {
      await page.goto(process.env.SERENDIP_URL + '/');
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      const alert = page.getByRole('alert');
      await alert.getByText('Camera and microphone access is blocked').waitFor();
      await page.getByRole('button', { name: 'Use text only' }).click();
      await page.waitForFunction(() => window.__serendip.phase === 'searching');
      assert.equal(await page.evaluate(() => window.__serendip.state.search.mode), 'text');
      await page.getByRole('button', { name: 'Stop' }).click();
      await page.waitForFunction(() => window.__serendip.phase === 'idle');
    } finally {
      await context.close();
    }
  });
});
