// Helpers for the tests that drive the whole site over HTTPS through nginx
// (tests/topology on loopback, tests/compose in containers): requests that
// accept the test's self-signed certificate, polling, and pages whose peer
// connections can be inspected.

import https from 'node:https';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** GET (or another method) over HTTP or HTTPS; resolves { status, headers, rawHeaders, body }. */
export function request(url, { method = 'GET', headers = {} } = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}

/** Polls `fn` until it returns a truthy value; returns it, or throws with the last value. */
export async function waitFor(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * A returning visitor (gate accepted) on a fresh context that accepts the
 * test certificate; every peer connection the page makes is kept in
 * window.__site.pcs for selectedPair().
 */
export async function openSiteUser(browser, url, name) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    localStorage.setItem('serendip.settings.v1', JSON.stringify({ gateAccepted: 1 }));
    const Native = window.RTCPeerConnection;
    const all = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        all.push(this);
      }
    };
    window.__site = { pcs: all };
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${name}: pageerror ${e.message}`));
  await page.goto(url.replace(/\/$/, '') + '/', { waitUntil: 'load' });
  return { context, page, errors, name };
}

/** Resolves once the page's signaling socket is open. */
export const socketOpen = (page, timeout = 15000) =>
  page.waitForFunction(() => window.__serendip?.state.conn === 'open', null, { timeout, polling: 50 });

/** The selected candidate pair of the page's live peer connection, and the policy it was made with. */
export async function selectedPair(page) {
  return page.evaluate(async () => {
    const pc = window.__site.pcs.filter((p) => p.connectionState === 'connected').at(-1);
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) return null;
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      policy: pc.getConfiguration().iceTransportPolicy,
      hasTurn: pc.getConfiguration().iceServers.some((s) => [].concat(s.urls).some((u) => u.startsWith('turn:'))),
      local: local.candidateType,
      remote: remote.candidateType,
      localAddress: local.address,
      relayProtocol: local.relayProtocol,
      state: pair.state,
      bytesReceived: pair.bytesReceived,
    };
  });
}

/** Turns "Hide my IP" on in the page's settings (the server must offer a relay). */
export async function hideMyIp(user) {
  await user.page.getByRole('button', { name: 'Settings' }).click();
  const toggle = user.page.getByRole('switch', { name: 'Hide my IP' });
  if (!(await toggle.isEnabled())) throw new Error(`${user.name}: the server offers no relay`);
  await toggle.check();
  await user.page.getByRole('button', { name: 'Close settings' }).click();
}
