// Everything the two pages play during one pair: the card on the table, the
// game in the slot, and the one kudos each way. No DOM: the page asks it for
// frames to send and hands it the stranger's frames; it says what changed.
// A new pair gets a new session, so nothing carries over between strangers.

import type { Role } from '../protocol';
import { deal, emptyTable, receive, type Table } from './cards';
import { DECK_ID, QUESTIONS, WYR } from './deck';
import type { GameKind, PlayFrame } from './frames';
import { emptySlot, local, remote, type Action, type Slot } from './games';

export type Change = 'card' | 'game' | 'kudos' | null;

/** Random lowercase hex, from the browser's CSPRNG (ids and salts). */
export function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class PlaySession {
  table: Table = emptyTable();
  slot: Slot = emptySlot();
  kudosSent = false;
  kudosReceived = false;
  /** Who dealt the card on the table (for the wording). */
  cardBy: 'me' | 'peer' | null = null;
  private readonly peerRole: Role;

  constructor(
    readonly role: Role,
    private readonly rand: () => number = Math.random,
    private readonly hex: (bytes: number) => string = randomHex,
    private readonly deckSize = QUESTIONS.length,
    private readonly wyrCount = WYR.length,
  ) {
    this.peerRole = role === 'offerer' ? 'answerer' : 'offerer';
  }

  get card(): string | null {
    return this.table.index === null ? null : (QUESTIONS[this.table.index] ?? null);
  }

  deal(): PlayFrame {
    const d = deal(this.table, this.role, this.deckSize, this.rand());
    this.table = d.table;
    this.cardBy = 'me';
    return { t: 'card', d: DECK_ID, i: d.index, n: d.n };
  }

  start(kind: GameKind): PlayFrame[] | null {
    const q = kind === 'wyr' ? Math.floor(this.rand() * this.wyrCount) : 0;
    return this.act({ a: 'start', g: kind, id: this.hex(8), q });
  }

  move(cell: number): PlayFrame[] | null {
    return this.act({ a: 'move', cell });
  }

  vote(v: number): PlayFrame[] | null {
    return this.act({ a: 'vote', v, salt: this.hex(16) });
  }

  quit(): PlayFrame[] | null {
    return this.act({ a: 'quit' });
  }

  /** Positive only, and once per pair. */
  kudos(): PlayFrame | null {
    if (this.kudosSent) return null;
    this.kudosSent = true;
    return { t: 'kudos' };
  }

  /** A frame from the stranger: what changed, and what to send back. */
  receive(f: PlayFrame): { change: Change; send: PlayFrame[] } {
    const none = { change: null, send: [] };
    if (f.t === 'kudos') {
      if (this.kudosReceived) return none;
      this.kudosReceived = true;
      return { change: 'kudos', send: [] };
    }
    if (f.t === 'card') {
      if (f.d !== DECK_ID) return none; // another version of the deck: its index means another question
      const t = receive(this.table, this.peerRole, f.n, f.i, this.deckSize);
      if (!t) return none;
      this.table = t;
      this.cardBy = 'peer';
      return { change: 'card', send: [] };
    }
    const r = remote(this.slot, f, this.peerRole, this.wyrCount);
    if (!r) return none;
    this.slot = r.slot;
    return { change: 'game', send: r.send };
  }

  private act(a: Action): PlayFrame[] | null {
    const r = local(this.slot, a, this.wyrCount);
    if (!r) return null;
    this.slot = r.slot;
    return r.send;
  }
}
