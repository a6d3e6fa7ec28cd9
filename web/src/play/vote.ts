// Simultaneous choices with commit-then-reveal, for "would you rather" and
// rock-paper-scissors: each side first sends a hash of its choice and a
// random salt, and shows its choice only once both hashes are in. Neither
// side can wait to see the other's choice and then pick, and a revealed
// choice that does not match its hash is refused. Pure.

import { sha256Hex } from './sha256';
import type { Side } from './tictactoe';

export type VoteKind = 'wyr' | 'rps';

export interface VoteGame {
  kind: VoteKind;
  id: string;
  starter: Side;
  /** The prompt's index (would you rather), 0 for rock-paper-scissors. */
  q: number;
  /** Our own choice and salt, kept until both commitments are in. */
  mine: null | { v: number; salt: string };
  commits: { me: string | null; peer: string | null };
  revealed: { me: number | null; peer: number | null };
}

export const CHOICES: Record<VoteKind, number> = { wyr: 2, rps: 3 };

export const newVote = (kind: VoteKind, id: string, starter: Side, q: number): VoteGame => ({
  kind,
  id,
  starter,
  q,
  mine: null,
  commits: { me: null, peer: null },
  revealed: { me: null, peer: null },
});

export const commitment = (id: string, v: number, salt: string): string => sha256Hex(`serendip-vote:${id}:${v}:${salt}`);

export const isOver = (g: VoteGame): boolean => g.revealed.me !== null && g.revealed.peer !== null;

/** Both hashes are in, so our reveal may go out. */
export const bothCommitted = (g: VoteGame): boolean => g.commits.me !== null && g.commits.peer !== null;

/** Our choice: returns the game and the hash to send, or null if not allowed. */
export function choose(g: VoteGame, v: number, salt: string): { game: VoteGame; hash: string } | null {
  if (g.commits.me !== null || !Number.isInteger(v) || v < 0 || v >= CHOICES[g.kind]) return null;
  const hash = commitment(g.id, v, salt);
  return { game: { ...g, mine: { v, salt }, commits: { ...g.commits, me: hash } }, hash };
}

/** Our own reveal, once both are committed (the caller sends it). */
export function revealMine(g: VoteGame): VoteGame | null {
  if (!bothCommitted(g) || !g.mine || g.revealed.me !== null) return null;
  return { ...g, revealed: { ...g.revealed, me: g.mine.v } };
}

/** The stranger's commitment: once per game. */
export function peerCommit(g: VoteGame, hash: string): VoteGame | null {
  if (g.commits.peer !== null) return null;
  return { ...g, commits: { ...g.commits, peer: hash } };
}

/** The stranger's reveal: only after both committed, once, and matching the hash. */
export function peerReveal(g: VoteGame, v: number, salt: string): VoteGame | null {
  if (!bothCommitted(g) || g.revealed.peer !== null) return null;
  if (!Number.isInteger(v) || v < 0 || v >= CHOICES[g.kind] || commitment(g.id, v, salt) !== g.commits.peer) return null;
  return { ...g, revealed: { ...g.revealed, peer: v } };
}

/** Rock-paper-scissors: 0 rock, 1 paper, 2 scissors. The winner, or null for a tie. */
export function rpsWinner(me: number, peer: number): Side | null {
  if (me === peer) return null;
  return (me - peer + 3) % 3 === 1 ? 'me' : 'peer';
}
