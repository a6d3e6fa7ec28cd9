// A tiny stand-in for the signaling server, for working on the client without
// the C++ build: serves web/dist with the production CSP and speaks enough of
// PROTOCOL.md (welcome, join/queued/matched, signal relay, next/leave/report,
// peer_left, face, resume) to pair two tabs. Not used by the test suite.
//
//   node tests/browser/mock-server.mjs [--port 8080] [--port-file F] [--web-root DIR] [--require-face] [--turn]

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const port = Number(flag('--port', 8080));
const host = flag('--listen', '127.0.0.1');
const portFile = flag('--port-file', '');
const requireFace = args.includes('--require-face');
const turn = args.includes('--turn');
const root = flag('--web-root', new URL('../../web/dist/', import.meta.url).pathname).replace(/\/?$/, '/');
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.woff2': 'font/woff2', '.bin': 'application/octet-stream', '.json': 'application/json' };

const http = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(root, path.endsWith('/') ? 'index.html' : path);
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP });
    res.end(body);
  } catch {
    res.writeHead(404, { 'Content-Security-Policy': CSP });
    res.end('not found');
  }
});

const iceServers = turn ? [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }] : [];
const sessions = new Map(); // id -> session
const queue = [];
let online = 0;

const send = (s, m) => s.ws?.readyState === 1 && s.ws.send(JSON.stringify(m));

function unpair(s, reason) {
  const p = s.partner;
  if (!p) return;
  s.partner = p.partner = null;
  send(p, { type: 'peer_left', reason });
}

function enqueue(s) {
  const i = queue.indexOf(s);
  if (i >= 0) queue.splice(i, 1);
  const other = queue.find((o) => o !== s && o.mode === s.mode && !s.blocked.has(o.id) && !o.blocked.has(s.id));
  if (!other) {
    queue.push(s);
    send(s, { type: 'queued', mode: s.mode, interests: s.interests });
    return;
  }
  queue.splice(queue.indexOf(other), 1);
  send(s, { type: 'queued', mode: s.mode, interests: s.interests });
  s.partner = other;
  other.partner = s;
  const common = s.interests.filter((x) => other.interests.includes(x));
  send(other, { type: 'matched', role: 'offerer', common, iceServers });
  send(s, { type: 'matched', role: 'answerer', common, iceServers });
}

const wss = new WebSocketServer({ server: http, path: '/ws' });
wss.on('connection', (ws, req) => {
  const token = new URL(req.url, 'http://x').searchParams.get('resume');
  let s = token ? [...sessions.values()].find((x) => x.token === token) : null;
  const resumed = Boolean(s);
  if (!s) {
    s = { id: randomUUID(), partner: null, mode: 'video', interests: [], blocked: new Set(), face: 0, held: [] };
    sessions.set(s.id, s);
  }
  clearTimeout(s.expire);
  s.ws = ws;
  s.token = randomUUID();
  online++;
  send(s, { type: 'welcome', v: 1, session: s.id, resume: s.token, online, limits: { maxMessage: 65536, ratePerSec: 20, burst: 60 }, iceServers });
  if (token && !resumed) send(s, { type: 'error', code: 'resume_failed', message: 'resume failed', ref: null });
  for (const m of s.held.splice(0)) send(s, m);
  for (const o of sessions.values()) if (o !== s) send(o, { type: 'online', count: online });
  ws.on('message', (raw) => {
    let m;
    try {
      m = JSON.parse(raw);
    } catch {
      return send(s, { type: 'error', code: 'bad_json', message: 'bad json', ref: null });
    }
    switch (m.type) {
      case 'join':
        if (requireFace && (!s.face || Date.now() - s.face > 10000)) return send(s, { type: 'error', code: 'face_required', message: 'Show your face', ref: 'join' });
        s.mode = m.mode;
        s.interests = m.interests ?? [];
        unpair(s, 'next');
        return enqueue(s);
      case 'next':
        unpair(s, 'next');
        return enqueue(s);
      case 'leave': {
        unpair(s, 'leave');
        const i = queue.indexOf(s);
        if (i >= 0) queue.splice(i, 1);
        return;
      }
      case 'report':
        if (s.partner) s.blocked.add(s.partner.id);
        unpair(s, 'report');
        return enqueue(s);
      case 'face':
        s.face = m.present ? Date.now() : 0;
        return;
      case 'signal':
        if (!s.partner) return send(s, { type: 'error', code: 'not_paired', message: 'not paired', ref: 'signal' });
        if (s.partner.ws?.readyState === 1) send(s.partner, { type: 'signal', data: m.data });
        else s.partner.held.push({ type: 'signal', data: m.data });
        return;
      default:
        return send(s, { type: 'error', code: 'unknown_type', message: 'unknown type', ref: m.type });
    }
  });
  ws.on('close', () => {
    if (s.ws !== ws) return;
    s.ws = null;
    online--;
    const i = queue.indexOf(s);
    if (i >= 0) queue.splice(i, 1);
    s.expire = setTimeout(() => {
      unpair(s, 'disconnect');
      sessions.delete(s.id);
    }, 15000);
  });
});

http.listen(port, host, async () => {
  const bound = http.address().port;
  if (portFile) (await import('node:fs')).writeFileSync(portFile, String(bound));
  console.log(`mock server on http://${host}:${bound}${requireFace ? ' (face required)' : ''}`);
});
process.on('SIGTERM', () => process.exit(0));
