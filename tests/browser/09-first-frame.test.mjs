// Time to the first remote frame, as a new user meets someone: for each of
// SERENDIP_FIRST_FRAME_CALLS calls (10), two fresh pages (new browser
// contexts); A starts and waits until its page has settled; B opens the
// page and clicks Start as soon as its socket is up; we time
// B's click to the first frame of A's video shown on B's page. The page's
// own performance marks give the breakdown (camera, queued, matched, offer,
// answer, ICE connected, first frame), printed and written to
// build/artifacts/first-frame.json and first-frame.txt.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { clickStart, closeAll, launch, openUser, waitPhase, writeArtifact } from './lib.mjs';

const CALLS = Number(process.env.SERENDIP_FIRST_FRAME_CALLS || 10);
const STEPS = ['camera', 'join', 'queued', 'matched', 'offer-received', 'answer-sent', 'ice-connected', 'first-frame'];

/** The page's serendip marks as epoch milliseconds (first of each). */
async function marks(page) {
  return page.evaluate(() => {
    const out = {};
    for (const m of performance.getEntriesByType('mark')) {
      if (!m.name.startsWith('serendip:')) continue;
      const k = m.name.slice(9);
      if (!(k in out)) out[k] = performance.timeOrigin + m.startTime;
    }
    return out;
  });
}

const pct = (xs, p) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)];
};

describe('first remote frame', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it(`Start to the stranger's first frame over ${CALLS} calls with fresh pages`, { timeout: 60000 + CALLS * 30000 }, async () => {
    const calls = [];
    for (let i = 0; i < CALLS; i++) {
      const a = await openUser(browser, { name: `A${i}` });
      const b = await openUser(browser, { name: `B${i}` });
      try {
        await clickStart(a.page);
        await waitPhase(a.page, 'searching');
        // A has been waiting a little, as in a real queue: its page has
        // loaded its models (on a real A's own machine that would not share
        // B's cores anyway).
        await a.page.waitForFunction(() => window.__serendip.face.where !== 'none' && window.__serendip.shield.state === 'ready', null, { timeout: 20000, polling: 50 });
        // B is a new visitor looking at the page: its socket is up before anyone clicks.
        await b.page.waitForFunction(() => window.__serendip?.state.conn === 'open', null, { timeout: 10000, polling: 20 });
        await clickStart(b.page);
        await b.page.waitForFunction(() => performance.getEntriesByName('serendip:first-frame').length > 0, null, { timeout: 20000, polling: 20 });
        const mb = await marks(b.page);
        const ma = await marks(a.page);
        const t0 = mb.start;
        const row = { total: mb['first-frame'] - t0 };
        for (const s of STEPS) if (mb[s] !== undefined) row[s] = Math.round(mb[s] - t0);
        // The offerer's side of the exchange, on the same clock.
        if (ma.matched) row['A matched'] = Math.round(ma.matched - t0);
        if (ma['offer-sent']) row['A offer-sent'] = Math.round(ma['offer-sent'] - t0);
        if (ma['answer-received']) row['A answer-received'] = Math.round(ma['answer-received'] - t0);
        calls.push(row);
        console.log(`# call ${i + 1}: ${JSON.stringify(row)}`);
      } finally {
        await closeAll(a, b);
      }
    }
    const totals = calls.map((c) => c.total);
    const keys = [...new Set(calls.flatMap((c) => Object.keys(c)))];
    const medians = Object.fromEntries(keys.map((k) => [k, pct(calls.map((c) => c[k]).filter((x) => x !== undefined), 50)]));
    const summary = { calls: CALLS, loadavg: loadavg(), medianMs: Math.round(pct(totals, 50)), p95Ms: Math.round(pct(totals, 95)), minMs: Math.round(Math.min(...totals)), maxMs: Math.round(Math.max(...totals)), medianStepMs: medians };
    const lines = [
      `first remote frame, ${CALLS} calls, fresh pages; ms from B's Start click (load ${loadavg().map((x) => x.toFixed(2)).join(' ')})`,
      ['call', ...keys].join('\t'),
      ...calls.map((c, i) => [i + 1, ...keys.map((k) => (c[k] === undefined ? '-' : Math.round(c[k])))].join('\t')),
      ['median', ...keys.map((k) => Math.round(medians[k]))].join('\t'),
      `median ${summary.medianMs} ms, p95 ${summary.p95Ms} ms (${summary.minMs}-${summary.maxMs})`,
    ];
    writeArtifact('first-frame.json', { ...summary, rows: calls });
    writeArtifact('first-frame.txt', lines.join('\n') + '\n');
    console.log(lines.map((l) => `# ${l}`).join('\n'));
    // The figures are the measurement (the targets, 600 ms median and 900 ms
    // p95, are judged from the artifact); the test asserts what every call did.
    for (const [i, c] of calls.entries()) {
      assert.ok(Number.isFinite(c.total) && c.total > 0, `call ${i + 1} showed a first frame`);
      const seen = STEPS.filter((s) => c[s] !== undefined);
      assert.deepEqual(seen.filter((s) => ['camera', 'matched', 'first-frame'].includes(s)), ['camera', 'matched', 'first-frame'], `call ${i + 1} marks ${seen}`);
      assert.ok(c.camera <= c.matched && c.matched <= c['first-frame'], `call ${i + 1} in order: ${JSON.stringify(c)}`);
    }
  });
});
