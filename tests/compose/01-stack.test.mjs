// The stack of compose.yaml, running in containers (tests/compose/run.sh):
// real Chromium pages through nginx's published HTTPS port. A call with
// video both ways across the two server containers; a "Hide my IP" call
// through the coturn container with only relay candidates; server1 killed
// in a call; Redis restarted under waiting users.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertClean, clickStart, closeAll, hook, launch, snap, waitFramesDecoded, waitPhase } from '../browser/lib.mjs';
import { hideMyIp, openSiteUser, request, selectedPair, socketOpen, waitFor } from '../support/site.mjs';

const URL_HTTPS = process.env.SERENDIP_URL;
const COMPOSE = process.env.SERENDIP_COMPOSE;
if (!URL_HTTPS || !COMPOSE) throw new Error('run the compose tests with tests/compose/run.sh');

const execFileP = promisify(execFile);
/** docker-compose with the test's project, file and .env. */
const compose = (...args) => execFileP(COMPOSE, args, { timeout: 120000, encoding: 'utf8' });

/** A service's container addresses, one per network, as podman assigned them. */
async function addressesOf(service) {
  const { stdout: id } = await compose('ps', '-q', service);
  const { stdout } = await execFileP(
    'podman',
    ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id.trim()],
    { timeout: 30000, encoding: 'utf8' },
  );
  return stdout.trim().split(/\s+/);
}

/**
 * One instance's gauge from its /metrics, read at its address on the
 * backend network: nginx answers /metrics with 404, and this test runs in
 * the network namespace that holds podman's bridges (`podman exec` is no
 * way in: it fails when podman itself runs in a container, as in
 * tests/fresh/run.sh).
 */
async function instanceMetric(service, name) {
  const [address] = await addressesOf(service);
  const res = await request(`http://${address}:8080/metrics`);
  const line = res.body.toString().split('\n').find((l) => l.startsWith(name + ' '));
  if (!line) throw new Error(`${service}/metrics has no ${name}`);
  return Number(line.split(' ')[1]);
}
const openConnections = () => Promise.all(['server1', 'server2'].map((s) => instanceMetric(s, 'serendip_connections_open')));

/** Resolves once both pages are in a call newer than `pairsBefore`, or rejects after `ms`. */
function newCall(users, pairsBefore, ms) {
  return Promise.all(
    users.map((u, i) =>
      u.page.waitForFunction(
        (id) => window.__serendip.phase === 'connected' && (window.__serendip.state.pair?.id ?? 0) > id,
        pairsBefore[i],
        { timeout: Math.max(1, ms), polling: 50 },
      ),
    ),
  );
}
/** When the page first saw its socket drop (its Date.now(), 0 if never). */
const droppedAt = (u) => u.page.evaluate(() => window.__droppedAt);
const pairIds = (users) => Promise.all(users.map((u) => hook(u.page, 's.state.pair ? s.state.pair.id : 0')));

describe('compose.yaml in containers: nginx, two servers, Redis, coturn', () => {
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

  it('nginx answers /healthz from an instance, the page over HTTPS, and redirects plain HTTP', async () => {
    const health = await request(`${URL_HTTPS}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.toString().trim(), 'ok');
    const page = await request(`${URL_HTTPS}/`);
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<title>[^<]*Serendip/);
    const plain = await request('http://localhost/');
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `${URL_HTTPS}/`);
    assert.equal((await request(`${URL_HTTPS}/metrics`)).status, 404, '/metrics stays inside');
  });

  it('two pages, one on each server container, meet and decode each other\'s video', { timeout: 90000 }, async () => {
    a = await openSiteUser(browser, URL_HTTPS, 'A');
    await socketOpen(a.page);
    b = await openSiteUser(browser, URL_HTTPS, 'B');
    await socketOpen(b.page);
    assert.deepEqual(await openConnections(), [1, 1], 'nginx balanced the sockets over both instances');
    await clickStart(a.page);
    await waitPhase(a.page, 'searching');
    await clickStart(b.page);
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
    const [sa, sb] = await Promise.all([waitFramesDecoded(a.page, 5), waitFramesDecoded(b.page, 5)]);
    assert.ok(sa.framesDecoded >= 5 && sb.framesDecoded >= 5, 'video frames decoded both ways');
    const roles = await Promise.all([hook(a.page, 's.state.pair.role'), hook(b.page, 's.state.pair.role')]);
    assert.deepEqual(roles.sort(), ['answerer', 'offerer'], 'matched across the two containers through Redis');
    const p = await waitFor(() => selectedPair(a.page), { what: 'A: a selected pair' });
    assert.equal(p.policy, 'all');
    await snap(a.page, 'compose-connected');
  });

  it('"Hide my IP" on both: a call through the coturn container, relay candidates only', { timeout: 90000 }, async () => {
    for (const u of [a, b]) await hideMyIp(u);
    const before = await pairIds([a, b]);
    await a.page.getByRole('button', { name: 'Next' }).click();
    await waitPhase(b.page, 'ended', 10000);
    await b.page.getByRole('button', { name: 'Next' }).click();
    await newCall([a, b], before, 30000);
    await Promise.all([waitFramesDecoded(a.page, 5), waitFramesDecoded(b.page, 5)]);
    for (const u of [a, b]) {
      const p = await waitFor(() => selectedPair(u.page), { what: `${u.name}: a selected pair` });
      assert.equal(p.policy, 'relay', `${u.name}: iceTransportPolicy`);
      assert.equal(p.hasTurn, true, `${u.name}: the server handed out TURN credentials`);
      assert.equal(p.local, 'relay', `${u.name}: local candidate ${JSON.stringify(p)}`);
      assert.equal(p.remote, 'relay', `${u.name}: remote candidate ${JSON.stringify(p)}`);
      assert.equal(p.relayProtocol, 'udp', `${u.name}: relayed over UDP`);
      assert.ok(p.bytesReceived > 0, `${u.name}: media flows through the relay`);
    }
    // Every candidate either page ever gathered or received was a relay one.
    for (const u of [a, b]) {
      const kinds = await u.page.evaluate(async () => {
        const seen = new Set();
        for (const pc of window.__site.pcs.filter((x) => x.connectionState === 'connected')) {
          (await pc.getStats()).forEach((s) => {
            if (s.type === 'local-candidate' || s.type === 'remote-candidate') seen.add(`${s.type}:${s.candidateType}`);
          });
        }
        return [...seen].sort();
      });
      assert.deepEqual(kinds, ['local-candidate:relay', 'remote-candidate:relay'], `${u.name}: candidates ${kinds}`);
    }
    // The relay is the coturn container: its address in the edge network.
    const coturnAddresses = await addressesOf('coturn');
    for (const u of [a, b]) {
      const p = await selectedPair(u.page);
      assert.ok(coturnAddresses.includes(p.localAddress), `${u.name}: relayed at ${p.localAddress}, coturn is ${coturnAddresses}`);
    }
    await snap(a.page, 'compose-relayed');
    const { stdout } = await compose('logs', '--no-color', 'coturn');
    assert.ok(/Relay ports initialization done/.test(stdout), 'coturn\'s log is collected');
    assert.ok(!/\b\d{1,3}(\.\d{1,3}){3}\b/.test(stdout), 'no IPv4 address in coturn\'s log');
  });

  it('docker-compose kill server1 in a call: both pages are in a new call within 5 s', { timeout: 90000 }, async () => {
    const before = await pairIds([a, b]);
    // Each page notes when its signaling socket first drops: docker-compose
    // takes seconds to start and return, so the clock starts when server1
    // is gone (the page on it sees that within milliseconds).
    for (const u of [a, b]) {
      await u.page.evaluate(() => {
        window.__droppedAt = 0;
        setInterval(() => {
          if (!window.__droppedAt && window.__serendip.state.conn !== 'open') window.__droppedAt = Date.now();
        }, 5);
      });
    }
    const killed = compose('kill', 'server1');
    // The page that was on server1 reconnects through nginx to server2 and
    // resumes its session; then both move on to a new call.
    const dropped = await waitFor(
      async () => {
        for (const u of [a, b]) if ((await droppedAt(u)) > 0) return u;
        return null;
      },
      { timeout: 15000, interval: 20, what: 'a page to lose its socket' },
    );
    const t0 = await droppedAt(dropped);
    const steps = [];
    const step = (what) => steps.push(`${what} +${Date.now() - t0} ms`);
    await socketOpen(dropped.page, 5000);
    step('reconnected');
    const other = dropped === a ? b : a;
    await dropped.page.getByRole('button', { name: 'Next' }).click();
    await waitPhase(other.page, 'ended', 4000);
    step('the other page told');
    await other.page.getByRole('button', { name: 'Next' }).click();
    await newCall([a, b], before, 5000 - (Date.now() - t0)).catch((e) => {
      throw new Error(`${e.message} (${steps.join(', ')})`);
    });
    const took = Date.now() - t0;
    await killed;
    assert.ok(took < 5000, `new call after ${took} ms`);
    assert.equal(await droppedAt(dropped === a ? b : a), 0, 'the page on server2 kept its socket');
    console.log(`# killed server1: both pages in a new call ${took} ms after its page lost the socket (${steps.join(', ')})`);
    assert.equal(await instanceMetric('server2', 'serendip_connections_open'), 2, 'both pages on server2');
    await Promise.all([waitFramesDecoded(a.page, 5), waitFramesDecoded(b.page, 5)]);
    // server1 comes back (compose's restart policy, or start) and turns healthy.
    await compose('start', 'server1');
    await waitFor(async () => (await instanceMetric('server1', 'serendip_connections_open').catch(() => -1)) === 0, {
      timeout: 30000,
      interval: 500,
      what: 'server1 back',
    });
  });

  it('docker-compose restart redis: users waiting through it are matched within 5 s of its return', { timeout: 90000 }, async () => {
    for (const u of [a, b]) {
      await u.page.getByRole('button', { name: 'Stop' }).click();
      await waitPhase(u.page, 'idle');
    }
    const before = await pairIds([a, b]);
    // A waits in the queue; Redis goes away and comes back empty (no
    // persistence): the instances must put A back from their own mirrors.
    await clickStart(a.page);
    await waitPhase(a.page, 'searching');
    await new Promise((r) => setTimeout(r, 500));
    // Redis's return is when its new process starts (the engine's record,
    // read with podman itself: docker-compose takes seconds per command).
    const id = (await compose('ps', '-q', 'redis')).stdout.trim();
    const startedAt = async () =>
      Number((await execFileP('podman', ['inspect', '--format', '{{.State.StartedAt.UnixMilli}}', id])).stdout.trim());
    const first = await startedAt();
    const restarting = compose('restart', 'redis');
    const back = await waitFor(async () => {
      const t = await startedAt();
      return t > first ? t : 0;
    }, { timeout: 30000, interval: 50, what: 'Redis to start again' });
    // B comes as soon as Redis is back; A must have been put back in the queue.
    const clicked = Date.now() - back;
    await clickStart(b.page);
    await newCall([a, b], before, 5000 - (Date.now() - back)).catch(async (e) => {
      const seen = await Promise.all([a, b].map((u) => hook(u.page, '({ phase: s.phase, conn: s.state.conn, notice: s.state.notice })')));
      throw new Error(`${e.message} (B clicked Start ${clicked} ms after Redis started; now ${JSON.stringify(seen)})`);
    });
    const took = Date.now() - back;
    await restarting;
    assert.ok(took < 5000, `matched ${took} ms after Redis returned`);
    console.log(`# restarted redis: the waiting user and a newcomer were in a call ${took} ms after it returned (the newcomer came at +${clicked} ms)`);
    await Promise.all([waitFramesDecoded(a.page, 5), waitFramesDecoded(b.page, 5)]);
    for (const u of [a, b]) await assertClean(u);
  });
});
