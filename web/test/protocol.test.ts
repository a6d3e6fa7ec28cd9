import { describe, expect, it } from 'vitest';
import { candidateSignal, hasTurn, parseServerMessage, parseSignalData } from '../src/protocol';

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
    });
    expect(parseServerMessage(j({ type: 'matched', role: 'boss' }))).toBeNull();
    expect(parseServerMessage(j({ type: 'matched', role: 'answerer' }))).toEqual({ type: 'matched', role: 'answerer', common: [], iceServers: [] });
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

describe('hasTurn', () => {
  it('finds turn: and turns: urls only', () => {
    expect(hasTurn([])).toBe(false);
    expect(hasTurn([{ urls: 'stun:x' }])).toBe(false);
    expect(hasTurn([{ urls: ['stun:x', 'turn:y'] }])).toBe(true);
    expect(hasTurn([{ urls: 'TURNS:y' }])).toBe(true);
  });
});
