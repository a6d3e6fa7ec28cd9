// Two real Chromium pages over HTTPS through nginx, each on its own server
// instance (the instances share Redis): they meet and decode each other's
// video; with "Hide my IP" on both they meet again through coturn with only
// relay candidates; then one instance is killed and both pages, now on the
// other instance through nginx, are in a new call within 5 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertClean, clickStart, closeAll, hook, launch, snap, waitFramesDecoded, waitPhase } from '../browser/lib.mjs';
import { INSTANCES, INSTANCE_PIDS, URL_HTTPS, metric, openConnections, request, waitFor } from './lib.mjs';
import { hideMyIp, openSiteUser, selectedPair, socketOpen } from '../support/site.mjs';

const TURN = process.env.SERENDIP_TOPOLOGY_TURN === '1';

const openUser = (browser, name) => openSiteUser(browser, URL_HTTPS, name);

describe('the site through nginx, two instances, Redis and coturn', () => {
  let browser;
  let a;
  let b;
  before(async () => {
    browser = await launch();
  });
  let restarted;
  after(async () => {
    await closeAll(a, b);
    await browser?.close();
    restarted?.kill('SIGTERM');
  });

  it('two pages land on different instances, meet, and decode each other\'s video', { timeout: 60000 }, async () => {
    a = await openUser(browser, 'A');
    await socketOpen(a.page);
    b = await openUser(browser, 'B');
    await socketOpen(b.page);
    // Each instance holds exactly one of the two sockets (least_conn).
    assert.deepEqual(await openConnections(), [1, 1]);

    await clickStart(a.page);
    await waitPhase(a.page, 'searching');
    await clickStart(b.page);
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
    const [sa, sb] = await Promise.all([waitFramesDecoded(a.page), waitFramesDecoded(b.page)]);
    assert.ok(sa.framesDecoded > 0 && sb.framesDecoded > 0);
    const roles = await Promise.all([hook(a.page, 's.state.pair.role'), hook(b.page, 's.state.pair.role')]);
    assert.deepEqual(roles.sort(), ['answerer', 'offerer'], 'matched across instances through Redis');
    const pa = await selectedPair(a.page);
    assert.equal(pa.policy, 'all');
    assert.equal(pa.local, 'host', 'without Hide my IP the pair is direct');
    await snap(a.page, 'topology-connected');
  });

  it('"Hide my IP" on both: the next call goes through coturn, relay candidates only', { timeout: 60000, skip: !TURN && 'the server has no TURN options yet' }, async () => {
    assert.equal(await hook(a.page, 's.state.pair ? 1 : 0'), 1);
    for (const u of [a, b]) await hideMyIp(u);
    const before = await hook(a.page, 's.state.pair.id');
    await a.page.getByRole('button', { name: 'Next' }).click();
    await waitPhase(b.page, 'ended', 10000);
    await b.page.getByRole('button', { name: 'Next' }).click();
    await a.page.waitForFunction((id) => window.__serendip.state.pair?.id > id && window.__serendip.phase === 'connected', before, { timeout: 20000 });
    await waitPhase(b.page, 'connected', 20000);
    await Promise.all([waitFramesDecoded(a.page, 5), waitFramesDecoded(b.page, 5)]);
    for (const u of [a, b]) {
      const p = await waitFor(() => selectedPair(u.page), { what: `${u.name}: a selected pair` });
      assert.equal(p.policy, 'relay', `${u.name}: iceTransportPolicy`);
      assert.equal(p.local, 'relay', `${u.name}: local candidate ${JSON.stringify(p)}`);
      assert.equal(p.remote, 'relay', `${u.name}: remote candidate ${JSON.stringify(p)}`);
      assert.equal(p.relayProtocol, 'udp', `${u.name}: relayed over UDP`);
      assert.ok(p.bytesReceived > 0, `${u.name}: media flows through the relay`);
    }
    // coturn's log holds no address: entrypoint.sh masks them.
    const log = readFileSync(process.env.SERENDIP_COTURN_LOG, 'utf8');
    assert.ok(log.length > 0);
    assert.ok(!/\b\d{1,3}(\.\d{1,3}){3}\b/.test(log), 'no IPv4 address in coturn\'s output');
  });

  it('one instance dies: both pages reach the other through nginx and are in a new call within 5 s', { timeout: 60000 }, async () => {
    const pairBefore = await Promise.all([a, b].map((u) => hook(u.page, 's.state.pair.id')));
    const t0 = Date.now();
    process.kill(INSTANCE_PIDS[0], 'SIGKILL');
    // The page that was on the dead instance reconnects (through nginx, to the
    // other one) and resumes its session; then it moves on to a new call and
    // so does its partner.
    const dropped = await waitFor(async () => {
      for (const u of [a, b]) if ((await hook(u.page, 's.state.conn')) !== 'open') return u;
      return null;
    }, { timeout: 3000, interval: 20, what: 'a page to lose its socket' });
    await socketOpen(dropped.page);
    const other = dropped === a ? b : a;
    await dropped.page.getByRole('button', { name: 'Next' }).click();
    await waitPhase(other.page, 'ended', 4000);
    await other.page.getByRole('button', { name: 'Next' }).click();
    await Promise.all(
      [a, b].map((u, i) =>
        u.page.waitForFunction((id) => window.__serendip.phase === 'connected' && window.__serendip.state.pair?.id > id, pairBefore[i], {
          timeout: Math.max(1, 5000 - (Date.now() - t0)),
          polling: 50,
        }),
      ),
    );
    const took = Date.now() - t0;
    assert.ok(took < 5000, `new call after ${took} ms`);
    console.log(`# killed an instance: both pages in a new call after ${took} ms`);
    // Both sockets are on the surviving instance now.
    assert.equal(await metric(INSTANCES[1], 'serendip_connections_open'), 2, 'both pages on the surviving instance');
    await Promise.all([waitFramesDecoded(a.page, 5), waitFramesDecoded(b.page, 5)]);
    for (const u of [a, b]) await assertClean(u);
  });

  it('rolling restart: instance 1 comes back, instance 2 drains (SIGTERM): the call never drops', { timeout: 60000 }, async () => {
    const again = spawn(process.env.SERENDIP_RESTART_INSTANCE1, [], { stdio: 'ignore' });
    restarted = again;
    await waitFor(async () => (await request(`${INSTANCES[0]}/readyz`).catch(() => ({}))).status === 200, { what: 'instance 1 ready again' });
    const before = await Promise.all([a, b].map((u) => hook(u.page, '({ session: s.session, pair: s.state.pair.id })')));
    const framesBefore = await Promise.all([a, b].map((u) => u.page.evaluate(() => window.__serendip.inboundVideo())));
    process.kill(INSTANCE_PIDS[1], 'SIGTERM');
    // Watch both pages while the instance drains and they move over.
    const end = Date.now() + 6000;
    const seen = new Set();
    while (Date.now() < end) {
      for (const u of [a, b]) {
        const s = await hook(u.page, '({ phase: s.phase, conn: s.state.conn })');
        seen.add(`${u.name}:${s.conn}`);
        assert.equal(s.phase, 'connected', `${u.name} stays in the call (${JSON.stringify(s)})`);
      }
      await sleep(100);
    }
    assert.ok(seen.has('A:reconnecting') || seen.has('B:reconnecting') || seen.has('A:connecting') || seen.has('B:connecting'), `the sockets moved: ${[...seen]}`);
    await waitFor(async () => (await metric(INSTANCES[0], 'serendip_connections_open')) === 2, { what: 'both sockets on instance 1' });
    const after = await Promise.all([a, b].map((u) => hook(u.page, '({ session: s.session, pair: s.state.pair.id })')));
    assert.deepEqual(after, before, 'same sessions (resumed), same pair');
    for (const [i, u] of [a, b].entries()) {
      const f = await waitFramesDecoded(u.page, framesBefore[i].framesDecoded + 10);
      assert.ok(f.framesDecoded > framesBefore[i].framesDecoded, `${u.name}: video keeps coming`);
    }
    // Signaling works on the new instance: Next reaches the partner.
    await a.page.getByRole('button', { name: 'Next' }).click();
    await waitPhase(b.page, 'ended', 5000);
  });
});
