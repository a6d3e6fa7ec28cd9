import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/chat';
import { encodePlayFrame, MAX_PLAY_FRAME_CHARS, parsePlayFrame, type PlayFrame } from '../../src/play/frames';

const j = (v: unknown) => JSON.stringify(v);
const ID = '0123456789abcdef';
const H = 'a'.repeat(64);
const S = 'b'.repeat(32);

describe('play frames', () => {
  it('round-trips every well-formed frame', () => {
    const frames: PlayFrame[] = [
      { t: 'card', d: '01ab23cd', i: 5, n: 2 },
      { t: 'game', op: 'start', g: 'ttt', id: ID, q: 0 },
      { t: 'game', op: 'start', g: 'wyr', id: ID, q: 7 },
      { t: 'game', op: 'start', g: 'rps', id: ID, q: 0 },
      { t: 'game', op: 'move', id: ID, n: 0, c: 8 },
      { t: 'game', op: 'commit', id: ID, h: H },
      { t: 'game', op: 'reveal', id: ID, v: 1, s: S },
      { t: 'game', op: 'quit', id: ID },
      { t: 'kudos' },
    ];
    for (const f of frames) {
      expect(parsePlayFrame(encodePlayFrame(f))).toEqual(f);
      expect(decodeFrame(encodePlayFrame(f))).toEqual(f);
    }
  });

  it('drops malformed frames', () => {
    const bad: unknown[] = [
      '{',
      'null',
      '[]',
      '"card"',
      j({ t: 'card' }),
      j({ t: 'card', d: 'XYZ', i: 1, n: 1 }),
      j({ t: 'card', d: '01ab23cd', i: -1, n: 1 }),
      j({ t: 'card', d: '01ab23cd', i: 1.5, n: 1 }),
      j({ t: 'card', d: '01ab23cd', i: '1', n: 1 }),
      j({ t: 'card', d: '01ab23cd', i: 1, n: 0 }),
      j({ t: 'card', d: '01ab23cd', i: 1, n: 1e9 }),
      j({ t: 'game', op: 'start', g: 'chess', id: ID }),
      j({ t: 'game', op: 'start', g: 'wyr', id: ID }),
      j({ t: 'game', op: 'start', g: 'ttt', id: 'short' }),
      j({ t: 'game', op: 'start', g: 'ttt', id: ID.toUpperCase() }),
      j({ t: 'game', op: 'start', g: 'ttt', id: { toString: 1 } }),
      j({ t: 'game', op: 'move', id: ID, n: 0, c: 9 }),
      j({ t: 'game', op: 'move', id: ID, n: 9, c: 0 }),
      j({ t: 'game', op: 'move', id: ID, n: 0, c: null }),
      j({ t: 'game', op: 'move', id: ID, n: 0, c: Number.NaN }),
      j({ t: 'game', op: 'commit', id: ID, h: 'a'.repeat(63) }),
      j({ t: 'game', op: 'reveal', id: ID, v: 3, s: S }),
      j({ t: 'game', op: 'reveal', id: ID, v: 1, s: 'nope' }),
      j({ t: 'game', op: 'dance', id: ID }),
      j({ t: 'game', id: ID }),
      j({ t: 'poke' }),
      j({ t: '__proto__' }),
      42,
      null,
      new ArrayBuffer(8),
    ];
    for (const b of bad) {
      expect(parsePlayFrame(b)).toBeNull();
      expect(decodeFrame(b)).toBeNull();
    }
  });

  it('drops oversized frames, even if otherwise valid', () => {
    const big = j({ t: 'kudos', pad: 'x'.repeat(MAX_PLAY_FRAME_CHARS) });
    expect(parsePlayFrame(big)).toBeNull();
    expect(decodeFrame(big)).toBeNull();
    expect(decodeFrame(j({ t: 'kudos', pad: 'x'.repeat(100) }))).toEqual({ t: 'kudos' });
    expect(decodeFrame('x'.repeat(1_000_000))).toBeNull();
  });

  it('keeps chat frames as they were', () => {
    expect(decodeFrame(j({ t: 'msg', text: 'hi' }))).toEqual({ t: 'msg', text: 'hi' });
    expect(decodeFrame(j({ t: 'typing', on: true }))).toEqual({ t: 'typing', on: true });
  });
});
