// Renders a pair's PlaySession into the play panel of the chat column: the
// buttons, the question card, and the game in progress. Clicks are handed
// to the App through callbacks; all rules live in src/play/.

import type { GameKind } from '../play/frames';
import { WYR } from '../play/deck';
import { isFinished } from '../play/games';
import type { PlaySession } from '../play/session';
import { markOf, turnOf, type TttGame } from '../play/tictactoe';
import { rpsWinner, type VoteGame } from '../play/vote';
import { byId, h, setText, show } from './dom';

export interface PlayActions {
  deal(): void;
  start(kind: GameKind): void;
  move(cell: number): void;
  vote(v: number): void;
  quit(): void;
  kudos(): void;
}

const TITLES: Record<GameKind, string> = { ttt: 'Tic-tac-toe', wyr: 'Would you rather...', rps: 'Rock paper scissors' };
export const RPS = ['Rock', 'Paper', 'Scissors'] as const;

/** What a finished or running game says, from this page's side. */
export function gameStatus(s: PlaySession): string {
  const slot = s.slot;
  const g = slot.game;
  if (!g) return '';
  if (slot.quitBy) return slot.quitBy === 'me' ? 'You ended the game.' : 'The stranger ended the game.';
  if (g.kind === 'ttt') {
    if (g.result) return g.result.winner === null ? "It's a draw!" : g.result.winner === 'me' ? 'You win!' : 'The stranger wins!';
    return turnOf(g) === 'me' ? `Your turn. You are ${markOf(g, 'me')}.` : `The stranger's turn. You are ${markOf(g, 'me')}.`;
  }
  const names = g.kind === 'wyr' ? (WYR[g.q] ?? ['', '']) : RPS;
  const { me, peer } = g.revealed;
  if (me !== null && peer !== null) {
    const both = `You: ${names[me]}. Stranger: ${names[peer]}.`;
    if (g.kind === 'wyr') return me === peer ? `${both} Same choice!` : both;
    const w = rpsWinner(me, peer);
    return `${both} ${w === null ? "It's a tie!" : w === 'me' ? 'You win!' : 'The stranger wins!'}`;
  }
  if (g.mine) return `You picked ${names[g.mine.v]}. Waiting for the stranger...`;
  return g.commits.peer ? 'The stranger has picked. Your turn; their pick shows once you pick.' : 'Pick one. Both picks show once you have both picked.';
}

export class PlayView {
  private readonly deal = byId<HTMLButtonElement>('deal-btn');
  private readonly wyr = byId<HTMLButtonElement>('wyr-btn');
  private readonly ttt = byId<HTMLButtonElement>('ttt-btn');
  private readonly rps = byId<HTMLButtonElement>('rps-btn');
  private readonly kudosBtn = byId<HTMLButtonElement>('kudos-btn');
  private readonly kudosLabel = byId('kudos-label');
  private readonly card = byId('card');
  private readonly cardBy = byId('card-by');
  private readonly cardText = byId('card-text');
  private readonly game = byId('game');
  readonly note = byId('play-note');
  /** A finished game the person closed stays closed. */
  private dismissed: string | null = null;
  private drawn = '';

  constructor(private readonly act: PlayActions) {
    this.deal.addEventListener('click', () => act.deal());
    this.wyr.addEventListener('click', () => act.start('wyr'));
    this.ttt.addEventListener('click', () => act.start('ttt'));
    this.rps.addEventListener('click', () => act.start('rps'));
    this.kudosBtn.addEventListener('click', () => act.kudos());
  }

  say(text: string): void {
    setText(this.note, text);
  }

  render(s: PlaySession | null, open: boolean): void {
    const live = open && s !== null;
    const busy = s !== null && !isFinished(s.slot);
    this.deal.disabled = !live;
    for (const b of [this.wyr, this.ttt, this.rps]) b.disabled = !live || busy;
    this.kudosBtn.disabled = !live || s.kudosSent;
    setText(this.kudosLabel, s?.kudosSent ? 'Thanks sent' : 'Good chat');

    const card = s?.card ?? null;
    show(this.card, card !== null);
    setText(this.cardBy, s?.cardBy === 'peer' ? 'The stranger dealt' : 'You dealt');
    setText(this.cardText, card ?? '');
    this.renderGame(s, live);
  }

  private renderGame(s: PlaySession | null, live: boolean): void {
    const g = s?.slot.game ?? null;
    const visible = s !== null && g !== null && this.dismissed !== g.id;
    show(this.game, visible);
    if (!visible || !s || !g) {
      if (this.drawn) this.game.replaceChildren();
      this.drawn = '';
      return;
    }
    // Redraw only when something changed, keeping focus on the same control.
    const key = JSON.stringify([g, s.slot.quitBy, live]);
    if (key === this.drawn) return;
    this.drawn = key;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
    const over = isFinished(s.slot);
    const body: Node[] = [h('h4', { class: 'game-title', text: TITLES[g.kind] }), h('p', { class: 'game-status', text: gameStatus(s), attrs: { id: 'game-status' } })];
    if (g.kind === 'ttt') body.push(this.board(g, live && !over));
    else body.push(this.choices(g, live && !over && g.commits.me === null));
    const close = h('button', { class: 'chip-btn', text: over ? 'Close' : 'End game', attrs: { type: 'button', 'data-key': 'close' } });
    close.addEventListener('click', () => {
      if (over) {
        this.dismissed = g.id;
        this.render(s, live);
        this.ttt.focus();
      } else this.act.quit();
    });
    body.push(h('div', { class: 'game-actions' }, [close]));
    this.game.replaceChildren(...body);
    this.game.dataset.kind = g.kind;
    if (focused) this.game.querySelector<HTMLElement>(`[data-key="${focused}"]`)?.focus();
  }

  private board(g: TttGame, live: boolean): HTMLElement {
    const win = new Set(g.result?.line ?? []);
    const cells = g.cells.map((c, i) => {
      const mark = c === null ? '' : markOf(g, c);
      const b = h('button', {
        class: `ttt-cell${win.has(i) ? ' win' : ''}`,
        text: mark,
        attrs: { type: 'button', 'data-key': `cell-${i}`, 'data-cell': String(i), 'aria-label': `Row ${Math.floor(i / 3) + 1}, column ${(i % 3) + 1}: ${mark || 'empty'}` },
      });
      b.disabled = !live || c !== null || turnOf(g) !== 'me';
      b.addEventListener('click', () => this.act.move(i));
      return b;
    });
    return h('div', { class: 'ttt', attrs: { role: 'group', 'aria-label': 'Board', 'aria-describedby': 'game-status' } }, cells);
  }

  private choices(g: VoteGame, live: boolean): HTMLElement {
    const names = g.kind === 'wyr' ? (WYR[g.q] ?? ['', '']) : RPS;
    const buttons = names.map((name, v) => {
      const b = h('button', {
        class: 'btn btn-secondary vote-btn',
        text: name,
        attrs: { type: 'button', 'data-key': `vote-${v}`, 'data-vote': String(v), 'aria-pressed': String(g.mine?.v === v) },
      });
      b.disabled = !live;
      b.addEventListener('click', () => this.act.vote(v));
      return b;
    });
    return h('div', { class: `votes votes-${g.kind}`, attrs: { role: 'group', 'aria-label': 'Your pick', 'aria-describedby': 'game-status' } }, buttons);
  }
}
