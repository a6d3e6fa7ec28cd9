// The play frames that travel beside chat messages on the pair's data
// channel: question cards, game moves and kudos. Everything from the other
// side is untrusted, so decoding is strict: an exact shape, bounded numbers,
// fixed-format ids and hashes, a small size cap. Anything else is null and
// the caller drops it without a word.

export type GameKind = 'ttt' | 'wyr' | 'rps';

export type PlayFrame =
  | { t: 'card'; d: string; i: number; n: number }
  | { t: 'game'; op: 'start'; g: GameKind; id: string; q: number }
  | { t: 'game'; op: 'move'; id: string; n: number; c: number }
  | { t: 'game'; op: 'commit'; id: string; h: string }
  | { t: 'game'; op: 'reveal'; id: string; v: number; s: string }
  | { t: 'game'; op: 'quit'; id: string }
  | { t: 'kudos' };

/** Play frames are tiny; a bigger one is not ours. */
export const MAX_PLAY_FRAME_CHARS = 256;
/** Card sequence numbers stay far below this in any real chat. */
export const MAX_CARD_SEQ = 1_000_000;

const ID = /^[0-9a-f]{16}$/;
const HASH = /^[0-9a-f]{64}$/;
const SALT = /^[0-9a-f]{32}$/;
const DECK = /^[0-9a-f]{8}$/;
const GAMES: readonly GameKind[] = ['ttt', 'wyr', 'rps'];

const intIn = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const match = (v: unknown, re: RegExp): v is string => typeof v === 'string' && re.test(v);

/** Whether a decoded chat-channel object is meant for play (so chat.ts hands it over). */
export function isPlayType(t: unknown): boolean {
  return t === 'card' || t === 'game' || t === 'kudos';
}

/** Validates an already-parsed object; `rawLength` is the frame's text length. */
export function decodePlayFrame(o: Record<string, unknown>, rawLength: number): PlayFrame | null {
  if (rawLength > MAX_PLAY_FRAME_CHARS) return null;
  switch (o.t) {
    case 'kudos':
      return { t: 'kudos' };
    case 'card':
      if (!match(o.d, DECK) || !intIn(o.i, 0, 9999) || !intIn(o.n, 1, MAX_CARD_SEQ)) return null;
      return { t: 'card', d: o.d, i: o.i, n: o.n };
    case 'game': {
      if (!match(o.id, ID)) return null;
      const id = o.id;
      switch (o.op) {
        case 'start':
          if (!GAMES.includes(o.g as GameKind)) return null;
          if (o.g === 'wyr' ? !intIn(o.q, 0, 9999) : o.q !== undefined && o.q !== 0) return null;
          return { t: 'game', op: 'start', g: o.g as GameKind, id, q: o.g === 'wyr' ? (o.q as number) : 0 };
        case 'move':
          if (!intIn(o.n, 0, 8) || !intIn(o.c, 0, 8)) return null;
          return { t: 'game', op: 'move', id, n: o.n, c: o.c };
        case 'commit':
          return match(o.h, HASH) ? { t: 'game', op: 'commit', id, h: o.h } : null;
        case 'reveal':
          if (!intIn(o.v, 0, 2) || !match(o.s, SALT)) return null;
          return { t: 'game', op: 'reveal', id, v: o.v, s: o.s };
        case 'quit':
          return { t: 'game', op: 'quit', id };
        default:
          return null;
      }
    }
    default:
      return null;
  }
}

/** Parses a raw data-channel message as a play frame (for tests and tools). */
export function parsePlayFrame(raw: unknown): PlayFrame | null {
  if (typeof raw !== 'string' || raw.length > MAX_PLAY_FRAME_CHARS) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  return decodePlayFrame(v as Record<string, unknown>, raw.length);
}

export function encodePlayFrame(f: PlayFrame): string {
  return JSON.stringify(f);
}
