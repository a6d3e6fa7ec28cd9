import { describe, expect, it } from 'vitest';
import { DECK_ID, QUESTIONS } from '../../src/play/deck';
import type { PlayFrame } from '../../src/play/frames';
import { PlaySession, randomHex } from '../../src/play/session';
import type { TttGame } from '../../src/play/tictactoe';

let n = 0;
const hex = (bytes: number) => (++n).toString(16).padStart(bytes * 2, '0');

function wire(a: PlaySession, b: PlaySession) {
  const send = (to: PlaySession, frames: PlayFrame[] | PlayFrame | null) => {
    for (const f of frames === null ? [] : Array.isArray(frames) ? frames : [frames]) {
      const back = to.receive(JSON.parse(JSON.stringify(f)));
      send(to === a ? b : a, back.send);
    }
  };
  return send;
}

describe('a play session per pair', () => {
  it('deals the same card to both pages', () => {
    const a = new PlaySession('offerer', () => 0.25, hex);
    const b = new PlaySession('answerer', () => 0.75, hex);
    const send = wire(a, b);
    send(b, a.deal());
    expect(b.card).toBe(a.card);
    expect(QUESTIONS).toContain(a.card);
    expect(b.cardBy).toBe('peer');
    send(a, b.deal());
    expect(a.card).toBe(b.card);
  });

  it('ignores a card from another deck version', () => {
    const b = new PlaySession('answerer');
    expect(b.receive({ t: 'card', d: DECK_ID === '00000000' ? '00000001' : '00000000', i: 1, n: 1 }).change).toBeNull();
    expect(b.card).toBeNull();
  });

  it('plays tic-tac-toe to a win on both pages', () => {
    const a = new PlaySession('offerer', Math.random, hex);
    const b = new PlaySession('answerer', Math.random, hex);
    const send = wire(a, b);
    send(b, a.start('ttt'));
    for (const [p, c] of [[a, 0], [b, 3], [a, 1], [b, 4], [a, 2]] as const) send(p === a ? b : a, p.move(c));
    expect((a.slot.game as TttGame).result?.winner).toBe('me');
    expect((b.slot.game as TttGame).result?.winner).toBe('peer');
    expect(b.move(5)).toBeNull();
  });

  it('sends kudos once and counts a received one once', () => {
    const a = new PlaySession('offerer');
    const b = new PlaySession('answerer');
    expect(a.kudos()).toEqual({ t: 'kudos' });
    expect(a.kudos()).toBeNull();
    expect(b.receive({ t: 'kudos' }).change).toBe('kudos');
    expect(b.receive({ t: 'kudos' }).change).toBeNull();
  });

  it('makes random hex from the CSPRNG', () => {
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
    expect(randomHex(16)).not.toBe(randomHex(16));
  });
});
