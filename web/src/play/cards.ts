// Which question card is on the table for one pair. Either side may deal;
// two deals that cross on the wire must still leave both pages showing the
// same card, so every card carries a sequence number and the highest wins,
// the offerer's on a tie. Pure: the caller supplies the random numbers.

import type { Role } from '../protocol';

export interface Table {
  /** Sequence number of the card shown (0: none yet). */
  n: number;
  /** Who dealt it (a role, the tie-breaker). */
  by: Role | null;
  /** Index into the deck, or null before the first card. */
  index: number | null;
  /** Cards already seen in this pair, not dealt again until the deck runs out. */
  seen: readonly number[];
}

export const emptyTable = (): Table => ({ n: 0, by: null, index: null, seen: [] });

/** Picks an unseen card; `rand` is in [0, 1). */
export function pickCard(t: Table, deckSize: number, rand: number): number {
  const seen = new Set(t.seen.length >= deckSize ? [] : t.seen);
  const left: number[] = [];
  for (let i = 0; i < deckSize; i++) if (!seen.has(i) && i !== t.index) left.push(i);
  const pool = left.length ? left : [...Array(deckSize).keys()];
  return pool[Math.min(pool.length - 1, Math.floor(rand * pool.length))];
}

const remember = (seen: readonly number[], i: number, deckSize: number): number[] =>
  (seen.length >= deckSize ? [] : [...seen]).concat(seen.includes(i) ? [] : [i]);

/** Our deal: the next sequence number and a fresh card. */
export function deal(t: Table, me: Role, deckSize: number, rand: number): { table: Table; n: number; index: number } {
  const index = pickCard(t, deckSize, rand);
  const n = t.n + 1;
  return { table: { n, by: me, index, seen: remember(t.seen, index, deckSize) }, n, index };
}

/**
 * The other side's card. Returns the new table, or null when the frame is
 * out of range or loses to the card already shown (a stale or crossed deal).
 */
export function receive(t: Table, peer: Role, n: number, index: number, deckSize: number): Table | null {
  if (!Number.isInteger(index) || index < 0 || index >= deckSize) return null;
  if (!Number.isInteger(n) || n < t.n || (n === t.n && !(peer === 'offerer' && t.by !== 'offerer'))) return null;
  return { n, by: peer, index, seen: remember(t.seen, index, deckSize) };
}
