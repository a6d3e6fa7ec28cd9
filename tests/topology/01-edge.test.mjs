// nginx as shipped (nginx/nginx.conf.template): the redirect, TLS versions
// and ciphers, HTTP/2, security headers equal to the server's own, caching
// and compression of static files, the /ws proxy to both instances with its
// per-address limits, what stays internal, and logs without addresses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { INSTANCES, URL_HTTP, URL_HTTPS, firstFrame, headerCount, openConnections, request, upgrade, waitFor } from './lib.mjs';

const SECURITY_HEADERS = [
  'content-security-policy',
  'x-content-type-options',
  'referrer-policy',
  'permissions-policy',
  'cross-origin-opener-policy',
  'x-frame-options',
];
const HSTS = 'max-age=31536000';
const hostPort = new URL(URL_HTTPS).host;

function sClient(args) {
  return spawnSync('openssl', ['s_client', '-connect', hostPort, '-brief', ...args], { input: '', encoding: 'utf8', timeout: 10000 });
}

describe('nginx in front of two instances', () => {
  it('port 80 only redirects to HTTPS, path and query kept', async () => {
    const res = await request(`${URL_HTTP}/some/path?x=1`);
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `${URL_HTTPS}/some/path?x=1`);
    const ws = await request(`${URL_HTTP}/ws`);
    assert.equal(ws.status, 301, '/ws over plain HTTP is redirected too');
  });

  it('TLS 1.2 (forward-secret AEAD only) and 1.3; nothing older, no weak cipher', () => {
    const t13 = sClient(['-tls1_3']);
    assert.equal(t13.status, 0, t13.stderr);
    assert.match(t13.stdout + t13.stderr, /Protocol version: TLSv1\.3/);
    const t12 = sClient(['-tls1_2']);
    assert.equal(t12.status, 0, t12.stderr);
    assert.match(t12.stdout + t12.stderr, /Ciphersuite: ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
    // The client side allows the old protocols and ciphers (SECLEVEL=0), so
    // a refusal here is nginx's.
    for (const args of [['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'], ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0'],
      ['-tls1_2', '-cipher', 'AES128-SHA:AES256-SHA:AES128-GCM-SHA256:@SECLEVEL=0'], ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA']]) {
      const r = sClient(args);
      assert.notEqual(r.status, 0, `handshake with ${args.join(' ')} should fail: ${r.stdout}`);
    }
  });

  it('HTTP/2 is offered for the page and its assets', async () => {
    const proto = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: Number(new URL(URL_HTTPS).port), ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false }, () => {
        resolve(s.alpnProtocol);
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(proto, 'h2');
  });

  it('the page: the server\'s security headers, exactly once each, plus HSTS; revalidated', async () => {
    const viaNginx = await request(`${URL_HTTPS}/`);
    const direct = await request(`${INSTANCES[0]}/`);
    assert.equal(viaNginx.status, 200);
    assert.equal(direct.status, 200);
    assert.equal(viaNginx.body.toString(), direct.body.toString(), 'nginx serves the same index.html as the server');
    for (const h of SECURITY_HEADERS) {
      assert.ok(direct.headers[h], `the server sends ${h}`);
      assert.equal(viaNginx.headers[h], direct.headers[h], `${h} as the server sends it`);
      assert.equal(headerCount(viaNginx, h), 1, `${h} once`);
    }
    assert.equal(viaNginx.headers['strict-transport-security'], HSTS);
    assert.equal(viaNginx.headers['cache-control'], 'no-cache');
    assert.equal(viaNginx.headers.server, 'nginx', 'no version in Server');
  });

  it('hashed assets: cached for a year, immutable, gzip for text, right types', async () => {
    const dir = new URL('../../web/dist/assets/', import.meta.url);
    // Largest first: nginx leaves files under gzip_min_length (512 B) uncompressed, as it should.
    const assets = readdirSync(dir).sort((x, y) => statSync(new URL(y, dir)).size - statSync(new URL(x, dir)).size);
    const js = assets.find((f) => f.endsWith('.js'));
    const css = assets.find((f) => f.endsWith('.css'));
    const wasm = assets.find((f) => f.endsWith('.wasm'));
    for (const [file, type, gz] of [[js, 'application/javascript', true], [css, 'text/css', true], [wasm, 'application/wasm', true]]) {
      const res = await request(`${URL_HTTPS}/assets/${file}`, { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(res.status, 200, file);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', file);
      assert.match(res.headers['content-type'], new RegExp(`^${type}`), file);
      if (gz) assert.equal(res.headers['content-encoding'], 'gzip', `${file} compressed`);
      assert.equal(res.headers['strict-transport-security'], HSTS, file);
      for (const h of SECURITY_HEADERS) assert.equal(headerCount(res, h), 1, `${file}: ${h}`);
    }
    const missing = await request(`${URL_HTTPS}/assets/nope-123.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-frame-options'], 'DENY', 'errors carry the headers too');
  });

  it('/healthz passes through; /metrics and /readyz stay internal', async () => {
    const h = await request(`${URL_HTTPS}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.body.toString(), 'ok\n');
    assert.equal(h.headers['strict-transport-security'], HSTS);
    for (const hdr of SECURITY_HEADERS) assert.equal(headerCount(h, hdr), 1, `/healthz: ${hdr} once`);
    assert.equal((await request(`${URL_HTTPS}/metrics`)).status, 404);
    assert.equal((await request(`${URL_HTTPS}/readyz`)).status, 404);
  });

  it('/ws: upgraded through nginx, welcomed, spread over both instances; a foreign origin is refused', async () => {
    const a = await upgrade();
    const b = await upgrade();
    try {
      assert.equal(a.status, 101);
      assert.equal(b.status, 101);
      const [wa, wb] = await Promise.all([firstFrame(a.socket), firstFrame(b.socket)]);
      assert.equal(wa.type, 'welcome');
      assert.equal(wb.type, 'welcome');
      assert.deepEqual(await waitFor(async () => {
        const c = await openConnections();
        return c[0] === 1 && c[1] === 1 ? c : null;
      }, { what: 'one connection on each instance' }), [1, 1], 'least_conn puts the second on the other instance');
    } finally {
      a.socket?.destroy();
      b.socket?.destroy();
    }
    const foreign = await upgrade({ origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    await waitFor(async () => (await openConnections()).every((n) => n === 0), { what: 'connections closed' });
  });

  it('what an instance receives: the address nginx saw (never the client\'s claim), the scheme, the upgrade', async () => {
    // The probe nginx (same template) proxies to this listener instead of an instance.
    const seen = [];
    const upstream = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('seen\n');
    });
    upstream.on('upgrade', (req, socket) => {
      seen.push(req.headers);
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise((r) => upstream.listen(Number(process.env.SERENDIP_PROBE_UPSTREAM_PORT), '127.0.0.1', r));
    try {
      const spoof = { 'X-Forwarded-For': '203.0.113.9', 'X-Real-IP': '203.0.113.9', 'X-Forwarded-Proto': 'http' };
      const probe = process.env.SERENDIP_PROBE_URL;
      const plain = await request(`${probe}/ws`, { headers: spoof });
      assert.equal(plain.status, 400);
      const up = await upgrade({ base: probe, headers: spoof });
      assert.equal(up.status, 400);
      assert.equal(seen.length, 2);
      for (const h of seen) {
        assert.equal(h['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the address nginx saw');
        assert.equal(h['x-real-ip'], '127.0.0.1');
        assert.equal(h['x-forwarded-proto'], 'https');
        assert.equal(h.host, new URL(probe).hostname);
      }
      assert.equal(seen[0].connection, 'close', 'no upgrade asked: none passed on');
      assert.equal(seen[1].upgrade, 'websocket');
      assert.equal(seen[1].connection, 'upgrade');
      assert.ok(seen[1]['sec-websocket-key'], 'the handshake headers pass');
    } finally {
      upstream.close();
    }
  });

  it('/ws: at most 20 open connections per address (429 beyond), freed when one closes', async () => {
    const open = [];
    try {
      for (let i = 0; i < 20; i++) {
        const u = await upgrade();
        assert.equal(u.status, 101, `connection ${i + 1}`);
        open.push(u.socket);
        await sleep(120); // under the request rate: only the connection limit may refuse
      }
      const over = await upgrade();
      assert.equal(over.status, 429, 'the 21st is refused');
      open.pop().destroy();
      await sleep(300);
      const again = await upgrade();
      assert.equal(again.status, 101, 'a slot freed by a close is usable');
      open.push(again.socket);
    } finally {
      open.forEach((s) => s.destroy());
    }
    await waitFor(async () => (await openConnections()).every((n) => n === 0), { what: 'connections closed' });
  });

  it('/ws: requests per address are rate limited (10/s, burst 20)', async () => {
    await sleep(2500); // let the bucket refill after the previous test
    const results = await Promise.all(Array.from({ length: 40 }, () => request(`${URL_HTTPS}/ws`)));
    const limited = results.filter((r) => r.status === 429).length;
    const passed = results.filter((r) => r.status === 400).length; // the server: "WebSocket upgrade required"
    assert.ok(limited >= 15 && passed >= 15 && limited + passed === 40, `passed ${passed}, limited ${limited}`);
    await sleep(2500);
    assert.equal((await request(`${URL_HTTPS}/ws`)).status, 400, 'allowed again after a pause');
  });

  it('access log: no client address, no query string, nothing for /ws', async () => {
    await request(`${URL_HTTPS}/index.html?resume=secret-token-123`);
    await sleep(200);
    const log = readFileSync(process.env.SERENDIP_NGINX_ACCESS_LOG, 'utf8');
    const lines = log.split('\n').filter(Boolean);
    assert.ok(lines.some((l) => l.includes('"/index.html" 200')), `the access log is written: ${lines.slice(-3).join(' | ')}`);
    assert.ok(!/\b127\.0\.0\.1\b(?!:\d)/.test(log.replace(/"127\.0\.0\.1:\d+(, 127\.0\.0\.1:\d+)*"/g, '')), 'no client address');
    assert.ok(!log.includes('secret-token-123'), 'no query string');
    // Only port 80's redirect of /ws shows; the proxied /ws never does.
    assert.ok(!lines.some((l) => l.includes('"/ws"') && !l.includes('"/ws" 301')), '/ws is not logged');
    const errors = readFileSync(process.env.SERENDIP_NGINX_ACCESS_LOG.replace('access', 'error'), 'utf8');
    assert.ok(!errors.includes('127.0.0.1'), `no address in the error log: ${errors.slice(-300)}`);
  });
});
