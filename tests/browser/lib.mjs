// Shared helpers for the browser tests: launching Debian's Chromium through
// playwright-core (never a downloaded browser), opening "users" (one browser
// context each), and reading the client's small test hook.

import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
export const { chromium } = require('playwright-core');

export const REPO = new URL('../../', import.meta.url).pathname;
export const ARTIFACTS = process.env.SERENDIP_ARTIFACTS || join(REPO, 'build/artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** The server under test (started by run.sh). */
export function baseUrl() {
  const u = process.env.SERENDIP_URL;
  if (!u) throw new Error('SERENDIP_URL is not set: run the suite with tests/browser/run.sh');
  return u.replace(/\/$/, '');
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // Background tabs must keep their timers and media running in tests.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

/** Launches Chromium; `video` is a y4m/mjpeg file for the fake camera; `args` are extra flags. */
export async function launch({ video, args: extra = [] } = {}) {
  const args = [...FLAGS, ...extra];
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * Opens a page as a fresh user. Unless `gate` is true, the first-visit gate
 * is pre-accepted (as a returning visitor). Console errors are collected.
 */
export async function openUser(browser, { gate = false, viewport = { width: 1280, height: 800 }, name = 'user', reducedMotion } = {}) {
  const context = await browser.newContext({ viewport, reducedMotion });
  if (!gate) {
    await context.addInitScript(() => {
      try {
        const k = 'serendip.settings.v1';
        const cur = JSON.parse(localStorage.getItem(k) || '{}');
        if (!cur.gateAccepted) localStorage.setItem(k, JSON.stringify({ ...cur, gateAccepted: 1 }));
      } catch {
        /* ignore */
      }
    });
  }
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${name}: pageerror ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name}: console ${m.text()}`);
  });
  await page.goto(baseUrl() + '/', { waitUntil: 'load' });
  return { context, page, errors, name };
}

export async function hook(page, expr) {
  return page.evaluate(`(() => { const s = window.__serendip; return ${expr}; })()`);
}

export async function phase(page) {
  return hook(page, 's && s.phase');
}

/** Waits until the client's state machine is in one of `phases`. */
export async function waitPhase(page, phases, timeout = 15000) {
  const list = Array.isArray(phases) ? phases : [phases];
  await page.waitForFunction((l) => l.includes(window.__serendip?.phase), list, { timeout, polling: 50 });
}

/** Waits until this page decodes video frames from its partner. */
export async function waitFramesDecoded(page, min = 1, timeout = 20000) {
  const end = Date.now() + timeout;
  let last = null;
  while (Date.now() < end) {
    last = await page.evaluate(() => window.__serendip.inboundVideo());
    if (last && last.framesDecoded >= min) return last;
    await sleep(200);
  }
  throw new Error(`no decoded frames (last stats ${JSON.stringify(last)})`);
}

export async function clickStart(page) {
  await page.getByRole('button', { name: 'Start', exact: true }).click();
}

export async function closeAll(...users) {
  await Promise.all(users.filter(Boolean).map((u) => u.context.close().catch(() => undefined)));
}

/** Writes a JSON (or text) artifact into build/artifacts; returns its path. */
export function writeArtifact(name, data) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data, null, 2) + '\n');
  return path;
}

/** Screenshot into build/artifacts. */
export async function snap(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The axe-core source, injected into pages as a script (never from a CDN). */
export function axeSource() {
  return readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
}

/** Runs axe on the page; returns serious and critical violations. */
export async function axe(page) {
  // Injected through the DevTools protocol, so the page's CSP does not apply.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.evaluate(axeSource());
  }
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Starts an extra server instance (for tests that need other flags, such as
 * --require-face). Returns { url, stop }.
 */
export async function startServer(extraArgs = []) {
  const bin = process.env.SERENDIP_SERVER;
  if (!bin) throw new Error('SERENDIP_SERVER is not set');
  const dir = mkdtempSync(join(tmpdir(), 'serendip-srv-'));
  const portFile = join(dir, 'port');
  const webRoot = process.env.SERENDIP_WEB_ROOT || join(REPO, 'web/dist');
  const proc = spawn(bin, ['--listen', '127.0.0.1', '--port', '0', '--port-file', portFile, '--web-root', webRoot, '--threads', '1', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const end = Date.now() + 10000;
  while (Date.now() < end) {
    if (existsSync(portFile)) {
      const port = readFileSync(portFile, 'utf8').trim();
      if (port) {
        return {
          url: `http://127.0.0.1:${port}`,
          stop: async () => {
            proc.kill('SIGTERM');
            await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
    }
    if (proc.exitCode !== null) break;
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not start: ${stderr}`);
}

/** Fails when the page threw, or the CSP blocked anything. */
export async function assertClean(user) {
  const csp = await hook(user.page, 's ? s.cspViolations : []').catch(() => []);
  const thrown = user.errors.filter((e) => e.includes('pageerror') || e.includes('Content Security Policy'));
  if (csp.length || thrown.length) {
    throw new Error(`${user.name}: CSP violations ${JSON.stringify(csp)}; page errors ${JSON.stringify(thrown)}`);
  }
}

/** Text of the live status line. */
export async function statusOf(page) {
  return (await page.locator('#status').textContent())?.trim();
}

/** Two users, both connected to each other. */
export async function connectPair(browser, names = ['A', 'B']) {
  const a = await openUser(browser, { name: names[0] });
  const b = await openUser(browser, { name: names[1] });
  await clickStart(a.page);
  await waitPhase(a.page, 'searching');
  await clickStart(b.page);
  await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
  return [a, b];
}

/**
 * Wraps RTCPeerConnection (before the app loads) so a test can count every
 * connection the page ever created and how many are not closed, without
 * trusting the app's own bookkeeping.
 */
export async function trackPeerConnections(context) {
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const all = [];
    class Tracked extends Native {
      constructor(...args) {
        super(...args);
        all.push(this);
      }
    }
    window.RTCPeerConnection = Tracked;
    window.__pcs = {
      get created() {
        return all.length;
      },
      get open() {
        return all.filter((pc) => pc.connectionState !== 'closed' && pc.signalingState !== 'closed').length;
      },
    };
  });
}

/**
 * CPU time (ms, user + system) of a Chromium launched with `--serendip-probe=TAG`
 * and all its child processes, read from /proc (Linux only).
 */
export function chromiumCpuMs(tag) {
  const stats = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      stats.set(pid, { ppid: f[1], ticks: Number(f[11]) + Number(f[12]), root: cmd.includes(`--serendip-probe=${tag}`) && !cmd.includes('--type=') });
    } catch {
      /* gone meanwhile */
    }
  }
  const roots = [...stats].filter(([, s]) => s.root).map(([pid]) => pid);
  if (!roots.length) throw new Error(`no Chromium with --serendip-probe=${tag}`);
  const inTree = (pid) => {
    for (let p = pid, i = 0; p && p !== '0' && i < 64; p = stats.get(p)?.ppid, i++) if (roots.includes(p)) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, s] of stats) if (inTree(pid)) ticks += s.ticks;
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}
