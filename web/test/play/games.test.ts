import { describe, expect, it } from 'vitest';
import type { PlayFrame } from '../../src/play/frames';
import { emptySlot, isFinished, local, remote, type Action, type Slot } from '../../src/play/games';
import { markOf, move, newTtt, turnOf, type TttGame } from '../../src/play/tictactoe';
import { commitment, rpsWinner, type VoteGame } from '../../src/play/vote';

type GameFrame = Extract<PlayFrame, { t: 'game' }>;
const ID = '00112233445566aa';
const ID2 = 'ffeeddccbbaa9988';
const salt = (c: string) => c.repeat(32);
const W = 40;

/** Two pages wired together: every frame one sends is delivered to the other. */
class Pair {
  a: Slot = emptySlot(); // the offerer
  b: Slot = emptySlot(); // the answerer
  act(side: 'a' | 'b', act: Action): boolean {
    const r = local(this[side], act, W);
    if (!r) return false;
    this[side] = r.slot;
    this.deliver(side === 'a' ? 'b' : 'a', r.send);
    return true;
  }
  deliver(to: 'a' | 'b', frames: GameFrame[]): void {
    for (const f of frames) {
      const r = remote(this[to], f, to === 'a' ? 'answerer' : 'offerer', W);
      if (!r) continue;
      this[to] = r.slot;
      this.deliver(to === 'a' ? 'b' : 'a', r.send);
    }
  }
}

describe('tic-tac-toe rules', () => {
  it('X (the starter) moves first, then turns alternate', () => {
    let g: TttGame | null = newTtt(ID, 'me');
    expect(turnOf(g)).toBe('me');
    expect(markOf(g, 'me')).toBe('X');
    expect(move(g, 'peer', 0, 4)).toBeNull(); // out of turn
    g = move(g, 'me', 0, 4)!;
    expect(turnOf(g)).toBe('peer');
    expect(move(g, 'me', 1, 0)).toBeNull(); // twice in a row
    expect(move(g, 'peer', 1, 4)).toBeNull(); // occupied
    expect(move(g, 'peer', 0, 0)).toBeNull(); // replayed move number
    expect(move(g, 'peer', 2, 0)).toBeNull(); // skipped move number
    expect(move(g, 'peer', 1, 9)).toBeNull(); // off the board
    expect(move(g, 'peer', 1, 0)).not.toBeNull();
  });

  it('finds a win and refuses moves after it', () => {
    let g: TttGame = newTtt(ID, 'me');
    const seq: [('me' | 'peer'), number][] = [
      ['me', 0],
      ['peer', 3],
      ['me', 1],
      ['peer', 4],
      ['me', 2],
    ];
    seq.forEach(([by, c], n) => (g = move(g, by, n, c)!));
    expect(g.result).toEqual({ winner: 'me', line: [0, 1, 2] });
    expect(move(g, 'peer', 5, 5)).toBeNull();
  });

  it('finds a draw', () => {
    let g: TttGame = newTtt(ID, 'peer');
    [0, 1, 2, 4, 3, 5, 7, 6, 8].forEach((c, n) => (g = move(g, turnOf(g), n, c)!));
    expect(g.result).toEqual({ winner: null, line: [] });
  });
});

describe('a game between two pages', () => {
  it('plays tic-tac-toe to the end with both pages agreeing', () => {
    const p = new Pair();
    expect(p.act('a', { a: 'start', g: 'ttt', id: ID, q: 0 })).toBe(true);
    expect(p.b.game?.kind).toBe('ttt');
    expect(p.act('b', { a: 'move', cell: 0 })).toBe(false); // not B's turn
    for (const [side, cell] of [['a', 4], ['b', 0], ['a', 2], ['b', 6], ['a', 3], ['b', 5], ['a', 1], ['b', 7], ['a', 8]] as const) {
      expect(p.act(side, { a: 'move', cell })).toBe(true);
    }
    const ga = p.a.game as TttGame;
    const gb = p.b.game as TttGame;
    expect(ga.result).toEqual({ winner: null, line: [] });
    expect(gb.result).toEqual(ga.result);
    expect(isFinished(p.a) && isFinished(p.b)).toBe(true);
    expect(p.act('a', { a: 'move', cell: 0 })).toBe(false);
  });

  it('refuses a stranger\'s illegal moves: out of turn, occupied, replayed, after the end, wrong game', () => {
    let s = local(emptySlot(), { a: 'start', g: 'ttt', id: ID, q: 0 }, W)!.slot; // we are X
    const mv = (n: number, c: number, id = ID): GameFrame => ({ t: 'game', op: 'move', id, n, c });
    expect(remote(s, mv(0, 4), 'answerer', W)).toBeNull(); // our turn, not theirs
    s = local(s, { a: 'move', cell: 4 }, W)!.slot;
    expect(remote(s, mv(1, 4), 'answerer', W)).toBeNull(); // occupied
    expect(remote(s, mv(1, 0, ID2), 'answerer', W)).toBeNull(); // another game
    const ok = remote(s, mv(1, 0), 'answerer', W)!;
    s = ok.slot;
    expect(remote(s, mv(1, 1), 'answerer', W)).toBeNull(); // the same move number again
    expect(remote(s, mv(2, 1), 'answerer', W)).toBeNull(); // our turn again
    // Quit ends it; nothing moves afterwards.
    s = remote(s, { t: 'game', op: 'quit', id: ID }, 'answerer', W)!.slot;
    expect(s.quitBy).toBe('peer');
    expect(remote(s, mv(2, 1), 'answerer', W)).toBeNull();
    expect(local(s, { a: 'move', cell: 1 }, W)).toBeNull();
    expect(remote(s, { t: 'game', op: 'quit', id: ID }, 'answerer', W)).toBeNull();
  });

  it('ignores moves with no game, and vote frames in tic-tac-toe', () => {
    expect(remote(emptySlot(), { t: 'game', op: 'move', id: ID, n: 0, c: 0 }, 'offerer', W)).toBeNull();
    const s = remote(emptySlot(), { t: 'game', op: 'start', g: 'ttt', id: ID, q: 0 }, 'offerer', W)!.slot;
    expect(remote(s, { t: 'game', op: 'commit', id: ID, h: 'a'.repeat(64) }, 'offerer', W)).toBeNull();
    expect(remote(s, { t: 'game', op: 'reveal', id: ID, v: 0, s: salt('a') }, 'offerer', W)).toBeNull();
  });

  it('does not let a second start replace a game in progress, nor replay the same start', () => {
    let s = remote(emptySlot(), { t: 'game', op: 'start', g: 'ttt', id: ID, q: 0 }, 'answerer', W)!.slot;
    expect(remote(s, { t: 'game', op: 'start', g: 'ttt', id: ID, q: 0 }, 'answerer', W)).toBeNull();
    expect(remote(s, { t: 'game', op: 'start', g: 'rps', id: ID2, q: 0 }, 'answerer', W)).toBeNull();
    expect(local(s, { a: 'start', g: 'rps', id: ID2, q: 0 }, W)).toBeNull();
    s = local(s, { a: 'quit' }, W)!.slot;
    expect(remote(s, { t: 'game', op: 'start', g: 'rps', id: ID2, q: 0 }, 'answerer', W)?.slot.game?.kind).toBe('rps');
  });

  it('refuses a would-you-rather prompt outside the list', () => {
    expect(remote(emptySlot(), { t: 'game', op: 'start', g: 'wyr', id: ID, q: W }, 'offerer', W)).toBeNull();
    expect(local(emptySlot(), { a: 'start', g: 'wyr', id: ID, q: -1 }, W)).toBeNull();
  });

  it('two starts that cross settle on the offerer\'s game on both pages', () => {
    const p = new Pair();
    const ra = local(p.a, { a: 'start', g: 'ttt', id: ID, q: 0 }, W)!;
    const rb = local(p.b, { a: 'start', g: 'rps', id: ID2, q: 0 }, W)!;
    p.a = ra.slot;
    p.b = rb.slot;
    p.deliver('a', rb.send);
    p.deliver('b', ra.send);
    expect(p.a.game?.id).toBe(ID);
    expect(p.b.game?.id).toBe(ID);
    expect(p.b.game?.starter).toBe('peer');
    expect(p.a.game?.starter).toBe('me');
  });
});

describe('commit-then-reveal (would you rather, rock-paper-scissors)', () => {
  it('shows both votes only when both have voted, and both pages agree', () => {
    const p = new Pair();
    p.act('a', { a: 'start', g: 'wyr', id: ID, q: 3 });
    expect((p.b.game as VoteGame).q).toBe(3);
    p.act('a', { a: 'vote', v: 1, salt: salt('1') });
    const ga = p.a.game as VoteGame;
    const gb = p.b.game as VoteGame;
    // B has A's commitment but not A's choice.
    expect(gb.commits.peer).toBe(commitment(ID, 1, salt('1')));
    expect(gb.revealed.peer).toBeNull();
    expect(ga.revealed.me).toBeNull();
    expect(isFinished(p.a)).toBe(false);
    p.act('b', { a: 'vote', v: 0, salt: salt('2') });
    expect((p.a.game as VoteGame).revealed).toEqual({ me: 1, peer: 0 });
    expect((p.b.game as VoteGame).revealed).toEqual({ me: 0, peer: 1 });
    expect(isFinished(p.a) && isFinished(p.b)).toBe(true);
    expect(p.act('a', { a: 'vote', v: 0, salt: salt('3') })).toBe(false);
  });

  it('refuses an early reveal, a reveal that does not match, and a second commitment', () => {
    let s = local(emptySlot(), { a: 'start', g: 'rps', id: ID, q: 0 }, W)!.slot;
    const reveal = (v: number, sa: string): GameFrame => ({ t: 'game', op: 'reveal', id: ID, v, s: sa });
    // A reveal before any commitment: that would be "wait and see".
    expect(remote(s, reveal(0, salt('c')), 'answerer', W)).toBeNull();
    s = remote(s, { t: 'game', op: 'commit', id: ID, h: commitment(ID, 2, salt('c')) }, 'answerer', W)!.slot;
    expect(remote(s, { t: 'game', op: 'commit', id: ID, h: commitment(ID, 0, salt('c')) }, 'answerer', W)).toBeNull();
    // We have not chosen yet: their reveal still waits.
    expect(remote(s, reveal(2, salt('c')), 'answerer', W)).toBeNull();
    const mine = local(s, { a: 'vote', v: 0, salt: salt('d') }, W)!;
    expect(mine.send.map((f) => f.op)).toEqual(['commit', 'reveal']);
    s = mine.slot;
    expect(remote(s, reveal(1, salt('c')), 'answerer', W)).toBeNull(); // not what they committed to
    expect(remote(s, reveal(2, salt('e')), 'answerer', W)).toBeNull(); // wrong salt
    s = remote(s, reveal(2, salt('c')), 'answerer', W)!.slot;
    expect((s.game as VoteGame).revealed).toEqual({ me: 0, peer: 2 });
    expect(rpsWinner(0, 2)).toBe('me'); // rock blunts scissors
    expect(remote(s, reveal(2, salt('c')), 'answerer', W)).toBeNull(); // replayed
  });

  it('rock-paper-scissors outcomes', () => {
    expect(rpsWinner(1, 0)).toBe('me');
    expect(rpsWinner(2, 1)).toBe('me');
    expect(rpsWinner(0, 1)).toBe('peer');
    expect(rpsWinner(2, 2)).toBeNull();
  });

  it('refuses choices out of range and moves in a vote game', () => {
    const s = local(emptySlot(), { a: 'start', g: 'wyr', id: ID, q: 0 }, W)!.slot;
    expect(local(s, { a: 'vote', v: 2, salt: salt('a') }, W)).toBeNull();
    expect(local(s, { a: 'move', cell: 0 }, W)).toBeNull();
    expect(remote(s, { t: 'game', op: 'move', id: ID, n: 0, c: 0 }, 'answerer', W)).toBeNull();
  });
});

describe('a crossing start cannot wipe a game in play', () => {
  it('the offerer\'s start replaces our game only while neither side has played in it', () => {
    let s = local(emptySlot(), { a: 'start', g: 'ttt', id: ID, q: 0 }, W)!.slot;
    s = local(s, { a: 'move', cell: 4 }, W)!.slot;
    expect(remote(s, { t: 'game', op: 'start', g: 'ttt', id: ID2, q: 0 }, 'offerer', W)).toBeNull();
    let v = local(emptySlot(), { a: 'start', g: 'wyr', id: ID, q: 1 }, W)!.slot;
    v = local(v, { a: 'vote', v: 0, salt: salt('a') }, W)!.slot;
    expect(remote(v, { t: 'game', op: 'start', g: 'rps', id: ID2, q: 0 }, 'offerer', W)).toBeNull();
  });
});
