// 50 Next cycles leave no open RTCPeerConnection, no stray tracks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, clickStart, closeAll, hook, launch, openUser, trackPeerConnections, waitPhase } from './lib.mjs';

const CYCLES = Number(process.env.SERENDIP_NEXT_CYCLES || 50);

describe('no leaks', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it(`${CYCLES} Next cycles leave no open peer connections`, { timeout: 300000 }, async () => {
    const a = await openUser(browser, { name: 'A' });
    const b = await openUser(browser, { name: 'B' });
    try {
      for (const u of [a, b]) {
        await trackPeerConnections(u.context);
        await u.page.reload();
      }
      await clickStart(a.page);
      await waitPhase(a.page, 'searching');
      await clickStart(b.page);
      await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);

      let maxOpen = 0;
      for (let i = 0; i < CYCLES; i++) {
        const pair = await hook(a.page, 's.state.pair.id');
        // A skips (alternately with Esc and the button); B, told the stranger
        // left, skips at once too; they meet again.
        if (i % 2) await a.page.keyboard.press('Escape');
        else await a.page.getByRole('button', { name: 'Next' }).click();
        await waitPhase(b.page, ['ended', 'connecting', 'connected'], 10000);
        if ((await hook(b.page, 's.phase')) === 'ended') await b.page.getByRole('button', { name: 'Next' }).click();
        await a.page.waitForFunction((id) => window.__serendip.state.pair?.id > id && window.__serendip.phase === 'connected', pair, {
          timeout: 20000,
          polling: 50,
        });
        await waitPhase(b.page, 'connected', 20000);
        const open = await a.page.evaluate(() => window.__pcs.open);
        maxOpen = Math.max(maxOpen, open);
      }
      assert.ok(maxOpen <= 1, `at most one live connection at a time (saw ${maxOpen})`);
      const created = await a.page.evaluate(() => window.__pcs.created);
      assert.ok(created >= CYCLES + 1, `a fresh connection per stranger (${created})`);

      await a.page.getByRole('button', { name: 'Stop' }).click();
      await b.page.getByRole('button', { name: 'Stop' }).click();
      await waitPhase(a.page, 'idle');
      await waitPhase(b.page, 'idle');
      for (const u of [a, b]) {
        assert.equal(await u.page.evaluate(() => window.__pcs.open), 0, `${u.name}: RTCPeerConnections still open`);
        assert.equal(await hook(u.page, 's.livePeers'), 0);
        assert.equal(await hook(u.page, 's.liveLocalTracks'), 0);
        await assertClean(u);
      }
    } finally {
      await closeAll(a, b);
    }
  });
});
