// Helpers for the topology tests (run by tests/topology/run.sh): plain HTTPS
// requests that accept the test's self-signed certificate, raw WebSocket
// upgrades through nginx, and the server instances' own /metrics.

import https from 'node:https';
import { request } from '../support/site.mjs';

export { request, waitFor } from '../support/site.mjs';

export const URL_HTTPS = process.env.SERENDIP_URL;
export const URL_HTTP = process.env.SERENDIP_HTTP_URL;
export const INSTANCES = (process.env.SERENDIP_INSTANCES || '').split(' ').filter(Boolean);
export const INSTANCE_PIDS = (process.env.SERENDIP_INSTANCE_PIDS || '').split(' ').filter(Boolean).map(Number);
if (!URL_HTTPS || INSTANCES.length !== 2) throw new Error('run the topology tests with tests/topology/run.sh');

/** How many times a header appears in a response. */
export function headerCount(res, name) {
  return res.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name.toLowerCase()).length;
}

/**
 * A WebSocket upgrade of /ws through nginx. Resolves { status, socket } where
 * socket is the open connection after a 101 (close it with socket.destroy()).
 */
export function upgrade({ origin = URL_HTTPS, path = '/ws', base = URL_HTTPS, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(base + path, {
      rejectUnauthorized: false,
      agent: false,
      headers: {
        ...headers,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        Origin: origin,
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString('base64'),
      },
    });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode, socket, headers: res.headers }));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode, socket: null, headers: res.headers });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('upgrade timeout')));
    req.end();
  });
}

/** Reads the first text frame the server sends on an upgraded socket. */
export function firstFrame(socket, timeout = 5000) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no frame')), timeout);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      }
      if (buf.length < off + len) return;
      clearTimeout(timer);
      resolve(JSON.parse(buf.subarray(off, off + len).toString('utf8')));
    });
  });
}

/** One gauge or counter (without labels) from an instance's /metrics. */
export async function metric(instance, name) {
  const res = await request(`${instance}/metrics`);
  const line = res.body
    .toString()
    .split('\n')
    .find((l) => l.startsWith(name + ' '));
  if (!line) throw new Error(`${instance}/metrics has no ${name}`);
  return Number(line.split(' ')[1]);
}

/** Open WebSocket connections per instance, e.g. [1, 1]. */
export async function openConnections() {
  return Promise.all(INSTANCES.map((i) => metric(i, 'serendip_connections_open')));
}
