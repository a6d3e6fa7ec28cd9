import { describe, expect, it } from 'vitest';
import { candidateSignal, hasTurn, iceServersForPair, parseServerMessage, parseSignalData, relayOnlyCandidate } from '../src/protocol';

const j = (v: unknown) => JSON.stringify(v);

describe('parseServerMessage', () => {
  it('parses welcome with all fields', () => {
    const m = parseServerMessage(
      j({
        type: 'welcome',
        v: 1,
        session: 's1',
        resume: 'r1',
        online: 3,
        limits: { maxMessage: 65536, ratePerSec: 20, burst: 60 },
        iceServers: [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:a', 'turns:b'], username: 'u', credential: 'c' }, { nope: 1 }],
        extra: 'ignored',
      }),
    );
    expect(m).toEqual({
      type: 'welcome',
      v: 1,
      session: 's1',
      resume: 'r1',
      online: 3,
      limits: { maxMessage: 65536, ratePerSec: 20, burst: 60 },
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:a', 'turns:b'], username: 'u', credential: 'c' }],
    });
  });

  it('rejects welcome without session or resume', () => {
    expect(parseServerMessage(j({ type: 'welcome', resume: 'r' }))).toBeNull();
    expect(parseServerMessage(j({ type: 'welcome', session: 's' }))).toBeNull();
  });

  it('rejects non-JSON, non-objects and unknown types', () => {
    expect(parseServerMessage('{')).toBeNull();
    expect(parseServerMessage('[]')).toBeNull();
    expect(parseServerMessage('"welcome"')).toBeNull();
    expect(parseServerMessage(j({ type: 'nope' }))).toBeNull();
    expect(parseServerMessage(j({ kind: 'online' }))).toBeNull();
  });

  it('parses online, queued, matched', () => {
    expect(parseServerMessage(j({ type: 'online', count: 7 }))).toEqual({ type: 'online', count: 7 });
    expect(parseServerMessage(j({ type: 'online' }))).toBeNull();
    expect(parseServerMessage(j({ type: 'queued', mode: 'text', interests: ['a', 2] }))).toEqual({ type: 'queued', mode: 'text', interests: ['a'] });
    expect(parseServerMessage(j({ type: 'matched', role: 'offerer', common: ['x'], iceServers: [] }))).toEqual({
      type: 'matched',
      role: 'offerer',
      common: ['x'],
      iceServers: [],
      rematch: false,
    });
    expect(parseServerMessage(j({ type: 'matched', role: 'boss' }))).toBeNull();
    expect(parseServerMessage(j({ type: 'matched', role: 'answerer' }))).toEqual({ type: 'matched', role: 'answerer', common: [], iceServers: [], rematch: false });
  });

  it('parses "Going back": matched with rematch, rematch_wanted, rematch_unavailable', () => {
    expect(parseServerMessage(j({ type: 'matched', role: 'offerer', common: [], iceServers: [], rematch: true }))).toEqual({
      type: 'matched',
      role: 'offerer',
      common: [],
      iceServers: [],
      rematch: true,
    });
    // Only a real true counts; anything else is an ordinary pair.
    for (const r of [false, 'true', 1, null, {}]) {
      expect(parseServerMessage(j({ type: 'matched', role: 'answerer', rematch: r }))).toMatchObject({ rematch: false });
    }
    expect(parseServerMessage(j({ type: 'rematch_wanted' }))).toEqual({ type: 'rematch_wanted' });
    expect(parseServerMessage(j({ type: 'rematch_wanted', extra: [1, 2] }))).toEqual({ type: 'rematch_wanted' });
    expect(parseServerMessage(j({ type: 'error', code: 'rematch_unavailable', message: 'too late', ref: 'rematch' }))).toEqual({
      type: 'error',
      code: 'rematch_unavailable',
      message: 'too late',
      ref: 'rematch',
    });
    // The client never parses its own message type as a server frame.
    expect(parseServerMessage(j({ type: 'rematch' }))).toBeNull();
  });

  it('parses peer_left, error, banned', () => {
    expect(parseServerMessage(j({ type: 'peer_left', reason: 'report' }))).toEqual({ type: 'peer_left', reason: 'report' });
    expect(parseServerMessage(j({ type: 'peer_left', reason: 'aliens' }))).toEqual({ type: 'peer_left', reason: 'unknown' });
    expect(parseServerMessage(j({ type: 'error', code: 'rate_limited', message: 'slow down', ref: 'next' }))).toEqual({
      type: 'error',
      code: 'rate_limited',
      message: 'slow down',
      ref: 'next',
    });
    expect(parseServerMessage(j({ type: 'error', code: 'bad_json' }))).toEqual({ type: 'error', code: 'bad_json', message: '', ref: null });
    expect(parseServerMessage(j({ type: 'banned', until: 1700000000, reason: 'reports' }))).toEqual({ type: 'banned', until: 1700000000, reason: 'reports' });
  });

  it('parses signals and refuses malformed ones', () => {
    expect(parseServerMessage(j({ type: 'signal', data: { description: { type: 'offer', sdp: 'v=0' } } }))).toEqual({
      type: 'signal',
      data: { description: { type: 'offer', sdp: 'v=0' } },
    });
    expect(parseServerMessage(j({ type: 'signal', data: {} }))).toBeNull();
  });
});

describe('parseSignalData', () => {
  it('needs exactly one of description or candidate', () => {
    expect(parseSignalData({ description: { type: 'answer', sdp: 'x' }, candidate: { candidate: '' } })).toBeNull();
    expect(parseSignalData({})).toBeNull();
    expect(parseSignalData(null)).toBeNull();
  });

  it('checks description types', () => {
    expect(parseSignalData({ description: { type: 'bogus', sdp: 'x' } })).toBeNull();
    expect(parseSignalData({ description: { type: 'offer' } })).toBeNull();
    expect(parseSignalData({ description: { type: 'rollback' } })).toEqual({ description: { type: 'rollback', sdp: '' } });
  });

  it('normalises candidates', () => {
    expect(parseSignalData({ candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u', x: 1 } })).toEqual({
      candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' },
    });
    expect(parseSignalData({ candidate: { candidate: 'c' } })).toEqual({ candidate: { candidate: 'c', sdpMid: null, sdpMLineIndex: null } });
    expect(parseSignalData({ candidate: { candidate: 'c', sdpMid: 3 } })).toBeNull();
    expect(parseSignalData({ candidate: { candidate: 'c', sdpMLineIndex: 'x' } })).toBeNull();
    expect(parseSignalData({ candidate: { sdpMid: '0' } })).toBeNull();
  });
});

describe('candidateSignal', () => {
  it('sends only the protocol fields', () => {
    expect(candidateSignal({ candidate: 'c', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' })).toEqual({
      candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' },
    });
    expect(candidateSignal({ candidate: 'c', usernameFragment: null })).toEqual({ candidate: { candidate: 'c', sdpMid: null, sdpMLineIndex: null } });
  });
});

describe('relayOnlyCandidate', () => {
  const relay = 'candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay raddr 198.51.100.7 rport 50432 generation 0 ufrag sK7d';
  it('passes relay candidates with the related address zeroed', () => {
    expect(relayOnlyCandidate(relay)).toBe('candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay raddr 0.0.0.0 rport 0 generation 0 ufrag sK7d');
    expect(relayOnlyCandidate('candidate:7 1 UDP 8331263 2001:db8::5 49170 typ relay raddr 2001:db8::7 rport 9')).toBe(
      'candidate:7 1 UDP 8331263 2001:db8::5 49170 typ relay raddr :: rport 0',
    );
    expect(relayOnlyCandidate('candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay')).toBe('candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay');
  });
  it('drops every other kind, and lines that only mention relay', () => {
    for (const line of [
      'candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host generation 0',
      'candidate:2 1 udp 2122260223 3f8a2b1c-7d4e-4f1a-9b2c-1d2e3f4a5b6c.local 54401 typ host',
      'candidate:3 1 udp 1677729535 198.51.100.7 50432 typ srflx raddr 0.0.0.0 rport 0',
      'candidate:4 1 udp 1845501695 198.51.100.7 50433 typ prflx',
      'candidate:5 1 udp 2122260223 192.0.2.10 54402 typ host raddr relay rport 0 typ relay',
      'candidate:1 1 udp 2122260223 typ relay 192.0.2.10 54400 typ host',
      'candidate:6 1 udp 41885439 203.0.113.5 49170 typ RELAY',
      'candidate:6 1 udp 41885439 203.0.113.5 49170 typ  relay',
      'candidate:6 1 udp 41885439 203.0.113.5 49170 typ',
      'typ relay',
      '',
    ])
      expect(relayOnlyCandidate(line), line).toBeNull();
  });
});

describe('iceServersForPair', () => {
  const welcome = [{ urls: 'turn:t', username: '1:old', credential: 'o' }];
  it("uses the matched's servers (fresh credentials), else the welcome's", () => {
    const fresh = [{ urls: 'stun:t' }, { urls: 'turn:t', username: '2:new', credential: 'n' }];
    expect(iceServersForPair(fresh, welcome)).toEqual(fresh);
    expect(iceServersForPair([], welcome)).toEqual(welcome);
  });
});

describe('hasTurn', () => {
  it('finds turn: and turns: urls only', () => {
    expect(hasTurn([])).toBe(false);
    expect(hasTurn([{ urls: 'stun:x' }])).toBe(false);
    expect(hasTurn([{ urls: ['stun:x', 'turn:y'] }])).toBe(true);
    expect(hasTurn([{ urls: 'TURNS:y' }])).toBe(true);
  });
});
