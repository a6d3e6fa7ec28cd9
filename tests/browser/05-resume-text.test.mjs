// A signaling blip does not end the call (reconnect + resume); text-only mode
// pairs only with text users; a phone-sized screen works.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertClean, axe, clickStart, closeAll, connectPair, hook, launch, openUser, snap, waitPhase } from './lib.mjs';

describe('resilience, text mode, mobile', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it('a dropped signaling socket resumes the same session and keeps the call', { timeout: 60000 }, async () => {
    const [a, b] = await connectPair(browser);
    try {
      assert.equal(await hook(a.page, 's.state.conn'), 'open');
      const session = await hook(a.page, 's.session');
      assert.ok(session);
      await a.page.evaluate(() => window.__serendip.dropSocket());
      await a.page.waitForFunction(() => window.__serendip.state.conn === 'reconnecting', null, { timeout: 5000, polling: 20 });
      await a.page.waitForFunction(() => window.__serendip.state.conn === 'open', null, { timeout: 15000 });
      assert.equal(await hook(a.page, 's.session'), session, 'the same session was resumed');
      await sleep(500);
      assert.equal(await hook(a.page, 's.phase'), 'connected');
      assert.equal(await hook(b.page, 's.phase'), 'connected', 'the partner never noticed');
      // Signaling still works for the pair: Next from A reaches B.
      await a.page.getByRole('button', { name: 'Next' }).click();
      await waitPhase(b.page, 'ended', 10000);
      await assertClean(a);
    } finally {
      await closeAll(a, b);
    }
  });

  it('a call that cannot connect within 10 s says so and moves on', { timeout: 60000 }, async () => {
    const a = await openUser(browser, { name: 'A' });
    const b = await openUser(browser, { name: 'B-no-route' });
    try {
      // B can gather no candidates at all (relay only, and there is no relay).
      await b.context.addInitScript(() => {
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
          constructor(cfg = {}) {
            super({ ...cfg, iceServers: [], iceTransportPolicy: 'relay' });
          }
        };
      });
      await b.page.reload();
      await clickStart(a.page);
      await waitPhase(a.page, 'searching');
      await clickStart(b.page);
      await waitPhase(b.page, 'connecting', 15000);
      const t0 = Date.now();
      // Whichever side's 10 s timer fires first says so and sends next; the
      // other is told the stranger left.
      // Notice, status and open connections are read in one evaluation: the
      // failed side moves on at once, and both 10 s timers fire within
      // milliseconds of each other, so the two may be matched again (a new
      // connection, the notice cleared) before a second evaluation runs.
      let failed = null;
      let atFailure = null;
      while (!failed && Date.now() - t0 < 15000) {
        for (const u of [a, b]) {
          const seen = await hook(
            u.page,
            "({ notice: s.state.notice, status: document.querySelector('#status').textContent, live: s.livePeers })",
          );
          if (seen.notice === 'failed' && !failed) {
            failed = u;
            atFailure = seen;
          }
        }
        await sleep(50);
      }
      const waited = Date.now() - t0;
      assert.ok(failed, 'one side reported the failure');
      assert.ok(waited > 8000 && waited < 14000, `gave up after ~10 s (${waited} ms)`);
      assert.equal(atFailure.status, 'Connection failed - trying someone else');
      assert.equal(atFailure.live, 0, 'the failed connection is closed');
      const other = failed === a ? b : a;
      await waitPhase(other.page, ['ended', 'searching', 'connecting'], 5000);
      for (const u of [a, b]) {
        await u.page.getByRole('button', { name: 'Stop' }).click();
        await waitPhase(u.page, 'idle');
      }
    } finally {
      await closeAll(a, b);
    }
  });

  it('closing the tab tells the stranger at once (leave on pagehide)', { timeout: 60000 }, async () => {
    const [a, b] = await connectPair(browser);
    try {
      const t0 = Date.now();
      await a.page.close();
      await waitPhase(b.page, 'ended', 5000);
      assert.equal(await hook(b.page, 's.state.leftReason'), 'leave');
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await closeAll(a, b);
    }
  });

  it('text-only users pair with each other, never with video users', { timeout: 60000 }, async () => {
    const v = await openUser(browser, { name: 'video' });
    const t1 = await openUser(browser, { name: 'text1' });
    const t2 = await openUser(browser, { name: 'text2' });
    try {
      await clickStart(v.page);
      await waitPhase(v.page, 'searching');
      for (const [t, likes] of [
        [t1, 'Music, chess'],
        [t2, 'films, MUSIC'],
      ]) {
        await t.page.getByRole('radio', { name: 'Text only' }).check();
        await t.page.getByRole('textbox', { name: /Interests/ }).fill(likes);
        await t.page.getByRole('textbox', { name: /Interests/ }).press('Enter');
        await clickStart(t.page);
      }
      await Promise.all([waitPhase(t1.page, 'connected', 20000), waitPhase(t2.page, 'connected', 20000)]);
      // Shared interests are shown on the match.
      assert.deepEqual(await hook(t1.page, 's.state.pair.common'), ['music']);
      await t1.page.getByText('You both like: music').first().waitFor();
      assert.equal(await hook(v.page, 's.phase'), 'searching');
      assert.equal(await hook(t1.page, 's.liveLocalTracks'), 0, 'no camera in text mode');
      await t1.page.waitForFunction(() => !document.getElementById('chat-input').disabled);
      await t1.page.getByRole('textbox', { name: 'Message' }).fill('text hello');
      await t1.page.keyboard.press('Enter');
      await t2.page.locator('#chat-log .msg-stranger .msg-text').getByText('text hello').waitFor();
      // Text mode does not auto-search when the stranger leaves: Next is offered.
      await t1.page.getByRole('button', { name: 'Stop' }).click();
      await waitPhase(t2.page, 'ended', 10000);
      await sleep(2500);
      assert.equal(await hook(t2.page, 's.phase'), 'ended');
      await snap(t2.page, 'text-ended');
      for (const u of [v, t1, t2]) await assertClean(u);
    } finally {
      await closeAll(v, t1, t2);
    }
  });

  it('phone-sized screen: everything reachable, axe clean, screenshot', { timeout: 60000 }, async () => {
    const a = await openUser(browser, { name: 'phoneA', viewport: { width: 390, height: 844 } });
    const b = await openUser(browser, { name: 'phoneB', viewport: { width: 390, height: 844 } });
    try {
      await snap(a.page, 'mobile-idle');
      await clickStart(a.page);
      await waitPhase(a.page, 'searching');
      await clickStart(b.page);
      await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
      await sleep(800);
      await snap(a.page, 'mobile-connected');
      const box = await a.page.getByRole('button', { name: 'Next' }).boundingBox();
      assert.ok(box && box.height >= 44, 'touch target at least 44 px high');
      const violations = await axe(a.page);
      assert.deepEqual(violations, [], `axe (mobile): ${JSON.stringify(violations, null, 2)}`);
    } finally {
      await closeAll(a, b);
    }
  });
});
