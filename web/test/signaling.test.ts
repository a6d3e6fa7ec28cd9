import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../src/protocol';
import { SignalingSocket, signalingUrl, type SocketLike } from '../src/signaling';

class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: unknown[] = [];
  closed = false;
  constructor(public url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  // test helpers
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  recv(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const log: string[] = [];
  const msgs: ServerMessage[] = [];
  const sig = new SignalingSocket(
    {
      welcome: (m, resumed) => log.push(`welcome ${m.session} ${resumed}`),
      message: (m) => msgs.push(m),
      down: (i) => log.push(`down ${i.code} ${i.retryInMs}`),
    },
    {
      url: 'ws://h/ws',
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
      setTimer: (fn, ms) => timers.push({ fn, ms }),
      clearTimer: () => undefined,
      random: () => 0.5,
    },
  );
  return { sig, sockets, timers, log, msgs };
}

const welcome = (session: string, resume: string) => ({ type: 'welcome', v: 1, session, resume, online: 2, iceServers: [] });
const sig = (n: number) => ({ type: 'signal' as const, data: { candidate: { candidate: `c${n}`, sdpMid: '0', sdpMLineIndex: 0 } } });

describe('signalingUrl', () => {
  it('uses ws or wss on the same host', () => {
    expect(signalingUrl({ protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080/ws');
    expect(signalingUrl({ protocol: 'https:', host: 'example.org' })).toBe('wss://example.org/ws');
  });
});

describe('SignalingSocket', () => {
  it('is ready only after welcome, and passes other messages on', () => {
    const { sig: s, sockets, log, msgs } = setup();
    s.start();
    expect(sockets[0].url).toBe('ws://h/ws');
    sockets[0].open();
    expect(s.ready).toBe(false);
    expect(s.send({ type: 'leave' })).toBe(false);
    sockets[0].recv(welcome('S1', 'R1'));
    expect(s.ready).toBe(true);
    expect(log).toEqual(['welcome S1 false']);
    sockets[0].recv({ type: 'online', count: 3 });
    sockets[0].onmessage?.({ data: 'not json' });
    expect(msgs).toEqual([{ type: 'online', count: 3 }]);
    expect(s.send({ type: 'leave' })).toBe(true);
    expect(sockets[0].sent).toEqual([{ type: 'leave' }]);
  });

  it('reconnects with backoff and the resume token', () => {
    const { sig: s, sockets, timers, log } = setup();
    s.start();
    sockets[0].open();
    sockets[0].recv(welcome('S1', 'R1'));
    sockets[0].drop();
    expect(log.at(-1)).toBe('down 1006 250');
    timers.shift()!.fn();
    expect(sockets[1].url).toBe('ws://h/ws?resume=R1');
    sockets[1].drop();
    expect(log.at(-1)).toBe('down 1006 500');
    timers.shift()!.fn();
    sockets[2].open();
    sockets[2].recv(welcome('S1', 'R2'));
    expect(log.at(-1)).toBe('welcome S1 true');
    // The attempt counter resets after a welcome; the newest token is used.
    sockets[2].drop();
    expect(log.at(-1)).toBe('down 1006 250');
    timers.shift()!.fn();
    expect(sockets[3].url).toBe('ws://h/ws?resume=R2');
  });

  it('holds signals while down and flushes them into a resumed session', () => {
    const { sig: s, sockets, timers } = setup();
    s.start();
    sockets[0].open();
    sockets[0].recv(welcome('S1', 'R1'));
    sockets[0].drop();
    expect(s.send(sig(1))).toBe(false);
    expect(s.send(sig(2))).toBe(false);
    expect(s.send({ type: 'next' })).toBe(false); // control messages are not held
    timers.shift()!.fn();
    sockets[1].open();
    sockets[1].recv(welcome('S1', 'R2'));
    expect(sockets[1].sent).toEqual([sig(1), sig(2)]);
  });

  it('drops held signals when a fresh session comes back', () => {
    const { sig: s, sockets, timers, log } = setup();
    s.start();
    sockets[0].open();
    sockets[0].recv(welcome('S1', 'R1'));
    sockets[0].drop();
    s.send(sig(1));
    timers.shift()!.fn();
    sockets[1].open();
    sockets[1].recv(welcome('S2', 'R9'));
    expect(log.at(-1)).toBe('welcome S2 false');
    expect(sockets[1].sent).toEqual([]);
  });

  it('keeps at most maxBuffered held signals (oldest dropped)', () => {
    const { sig: s, sockets, timers } = setup();
    s.start();
    sockets[0].open();
    sockets[0].recv(welcome('S1', 'R1'));
    sockets[0].drop();
    for (let i = 0; i < 70; i++) s.send(sig(i));
    timers.shift()!.fn();
    sockets[1].open();
    sockets[1].recv(welcome('S1', 'R2'));
    expect(sockets[1].sent).toHaveLength(64);
    expect(sockets[1].sent[0]).toEqual(sig(6));
  });

  it('clearHeld forgets signals of an ended pair', () => {
    const { sig: s, sockets, timers } = setup();
    s.start();
    sockets[0].open();
    sockets[0].recv(welcome('S1', 'R1'));
    sockets[0].drop();
    s.send(sig(1));
    s.clearHeld();
    timers.shift()!.fn();
    sockets[1].open();
    sockets[1].recv(welcome('S1', 'R2'));
    expect(sockets[1].sent).toEqual([]);
  });

  it('stop() closes without reconnecting', () => {
    const { sig: s, sockets, timers } = setup();
    s.start();
    sockets[0].open();
    s.stop();
    expect(sockets[0].closed).toBe(true);
    expect(timers).toHaveLength(0);
    expect(s.send({ type: 'leave' })).toBe(false);
  });

  it('waits out a ban before reconnecting', () => {
    const { sig: s, sockets, log } = setup();
    s.start();
    sockets[0].open();
    sockets[0].recv(welcome('S1', 'R1'));
    s.pauseUntil(Date.now() + 60_000);
    sockets[0].drop(1008);
    const retry = Number(log.at(-1)!.split(' ')[2]);
    expect(retry).toBeGreaterThan(59_000);
  });
});
