// Tic-tac-toe rules, pure. The player who starts the game plays X and moves
// first. A move is legal only in turn, on an empty cell, as the next move
// number, and before the game is over; both pages check every move, their
// own and the stranger's, with the same function.

export type Side = 'me' | 'peer';

export interface TttGame {
  kind: 'ttt';
  id: string;
  starter: Side;
  cells: readonly (Side | null)[];
  moves: number;
  /** Set once over: the winner (null for a draw) and the winning line. */
  result: null | { winner: Side | null; line: readonly number[] };
}

const LINES = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [0, 3, 6],
  [1, 4, 7],
  [2, 5, 8],
  [0, 4, 8],
  [2, 4, 6],
] as const;

export const newTtt = (id: string, starter: Side): TttGame => ({ kind: 'ttt', id, starter, cells: Array(9).fill(null), moves: 0, result: null });

const other = (s: Side): Side => (s === 'me' ? 'peer' : 'me');

/** Whose turn it is (the starter on even move numbers). */
export const turnOf = (g: TttGame): Side => (g.moves % 2 === 0 ? g.starter : other(g.starter));

/** X or O for a side. */
export const markOf = (g: TttGame, s: Side): 'X' | 'O' => (s === g.starter ? 'X' : 'O');

function resultOf(cells: readonly (Side | null)[]): TttGame['result'] {
  for (const l of LINES) {
    const w = cells[l[0]];
    if (w && cells[l[1]] === w && cells[l[2]] === w) return { winner: w, line: [...l] };
  }
  return cells.every((c) => c !== null) ? { winner: null, line: [] } : null;
}

/** Applies move number `n` on `cell` by `by`; null when it is not legal. */
export function move(g: TttGame, by: Side, n: number, cell: number): TttGame | null {
  if (g.result || n !== g.moves || turnOf(g) !== by) return null;
  if (!Number.isInteger(cell) || cell < 0 || cell > 8 || g.cells[cell] !== null) return null;
  const cells = g.cells.slice();
  cells[cell] = by;
  return { ...g, cells, moves: g.moves + 1, result: resultOf(cells) };
}
