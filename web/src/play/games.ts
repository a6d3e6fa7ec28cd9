// The one game on the table for a pair, and the only way frames change it.
// Local actions and the stranger's frames go through the same rules; each
// returns the new slot and the frames to send, or null when the action is
// not legal (the caller drops it). Pure: ids and salts come from the caller.

import type { Role } from '../protocol';
import type { GameKind, PlayFrame } from './frames';
import { move, newTtt, type Side, type TttGame } from './tictactoe';
import { bothCommitted, choose, isOver, newVote, peerCommit, peerReveal, revealMine, type VoteGame } from './vote';

export type Game = TttGame | VoteGame;

export interface Slot {
  game: Game | null;
  /** Who ended the game early, if anyone did. */
  quitBy: Side | null;
  /** Whether the stranger has acted in this game (then a crossing start no longer replaces it). */
  peerActed: boolean;
}

export type Action =
  | { a: 'start'; g: GameKind; id: string; q: number }
  | { a: 'move'; cell: number }
  | { a: 'vote'; v: number; salt: string }
  | { a: 'quit' };

type GameFrame = Extract<PlayFrame, { t: 'game' }>;
export type Step = { slot: Slot; send: GameFrame[] } | null;

export const emptySlot = (): Slot => ({ game: null, quitBy: null, peerActed: false });

export function isFinished(s: Slot): boolean {
  const g = s.game;
  if (!g) return true;
  if (s.quitBy) return true;
  return g.kind === 'ttt' ? g.result !== null : isOver(g);
}

/** Whether we have played in the game (a move or a pick). */
function playedIn(g: Game): boolean {
  return g.kind === 'ttt' ? g.moves > 0 : g.commits.me !== null;
}

function startGame(kind: GameKind, id: string, starter: Side, q: number): Game {
  return kind === 'ttt' ? newTtt(id, starter) : newVote(kind, id, starter, kind === 'wyr' ? q : 0);
}

/** After both commitments are in, our reveal goes out (once). */
function withReveal(slot: Slot, g: VoteGame, send: GameFrame[]): Step {
  if (bothCommitted(g) && g.revealed.me === null && g.mine) {
    const r = revealMine(g)!;
    send.push({ t: 'game', op: 'reveal', id: g.id, v: g.mine.v, s: g.mine.salt });
    g = r;
  }
  return { slot: { ...slot, game: g }, send };
}

/** Something this page's player did. */
export function local(s: Slot, act: Action, wyrCount: number): Step {
  const g = s.game;
  if (act.a === 'start') {
    if (!isFinished(s)) return null;
    if (act.g === 'wyr' && !(act.q >= 0 && act.q < wyrCount)) return null;
    const game = startGame(act.g, act.id, 'me', act.q);
    return { slot: { game, quitBy: null, peerActed: false }, send: [{ t: 'game', op: 'start', g: act.g, id: act.id, q: act.g === 'wyr' ? act.q : 0 }] };
  }
  if (!g || isFinished(s)) return null;
  if (act.a === 'quit') return { slot: { ...s, quitBy: 'me' }, send: [{ t: 'game', op: 'quit', id: g.id }] };
  if (act.a === 'move') {
    if (g.kind !== 'ttt') return null;
    const next = move(g, 'me', g.moves, act.cell);
    return next ? { slot: { ...s, game: next }, send: [{ t: 'game', op: 'move', id: g.id, n: g.moves, c: act.cell }] } : null;
  }
  if (g.kind === 'ttt') return null;
  const c = choose(g, act.v, act.salt);
  if (!c) return null;
  return withReveal(s, c.game, [{ t: 'game', op: 'commit', id: g.id, h: c.hash }]);
}

/**
 * A frame from the stranger. `peerRole` breaks the tie when both sides
 * started a game at the same moment: the offerer's game stays on both pages.
 */
export function remote(s: Slot, f: GameFrame, peerRole: Role, wyrCount: number): Step {
  const g = s.game;
  if (f.op === 'start') {
    if (f.g === 'wyr' && !(f.q >= 0 && f.q < wyrCount)) return null;
    if (g && g.id === f.id) return null; // a replayed start
    // Two starts crossed on the wire: ours gives way, but only while untouched
    // (neither side has played in it), so a start cannot wipe a game in play.
    const crossed = g !== null && g.starter === 'me' && !s.peerActed && !playedIn(g) && peerRole === 'offerer';
    if (!isFinished(s) && !crossed) return null;
    return { slot: { game: startGame(f.g, f.id, 'peer', f.q), quitBy: null, peerActed: true }, send: [] };
  }
  if (!g || g.id !== f.id || isFinished(s)) return null;
  const acted = { ...s, peerActed: true };
  switch (f.op) {
    case 'quit':
      return { slot: { ...acted, quitBy: 'peer' }, send: [] };
    case 'move': {
      if (g.kind !== 'ttt') return null;
      const next = move(g, 'peer', f.n, f.c);
      return next ? { slot: { ...acted, game: next }, send: [] } : null;
    }
    case 'commit': {
      if (g.kind === 'ttt') return null;
      const next = peerCommit(g, f.h);
      return next ? withReveal(acted, next, []) : null;
    }
    case 'reveal': {
      if (g.kind === 'ttt') return null;
      const next = peerReveal(g, f.v, f.s);
      return next ? { slot: { ...acted, game: next }, send: [] } : null;
    }
  }
}
