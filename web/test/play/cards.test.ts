import { describe, expect, it } from 'vitest';
import { deal, emptyTable, pickCard, receive } from '../../src/play/cards';

describe('question cards', () => {
  it('both pages show the same card after a deal', () => {
    const d = deal(emptyTable(), 'offerer', 10, 0.5);
    const other = receive(emptyTable(), 'offerer', d.n, d.index, 10);
    expect(other?.index).toBe(d.table.index);
    expect(other?.n).toBe(1);
  });

  it('deals that cross on the wire settle on the same card (highest number, offerer on a tie)', () => {
    const a = deal(emptyTable(), 'offerer', 10, 0.1);
    const b = deal(emptyTable(), 'answerer', 10, 0.9);
    expect(a.n).toBe(b.n);
    const aAfter = receive(a.table, 'answerer', b.n, b.index, 10); // offerer gets the answerer's
    const bAfter = receive(b.table, 'offerer', a.n, a.index, 10); // answerer gets the offerer's
    expect(aAfter).toBeNull(); // the offerer keeps its own
    expect(bAfter?.index).toBe(a.index);
    // And a later deal by either side moves both on.
    const next = deal(bAfter!, 'answerer', 10, 0.3);
    expect(receive(a.table, 'answerer', next.n, next.index, 10)?.index).toBe(next.index);
  });

  it('refuses replayed, stale and out-of-range cards', () => {
    const t = receive(emptyTable(), 'answerer', 3, 2, 10)!;
    expect(receive(t, 'answerer', 3, 4, 10)).toBeNull();
    expect(receive(t, 'answerer', 2, 4, 10)).toBeNull();
    expect(receive(t, 'answerer', 4, 10, 10)).toBeNull();
    expect(receive(t, 'answerer', 4, -1, 10)).toBeNull();
    expect(receive(t, 'answerer', 4, 9, 10)?.index).toBe(9);
  });

  it('does not repeat a card until the deck runs out', () => {
    let t = emptyTable();
    const got = new Set<number>();
    for (let k = 0; k < 5; k++) {
      const d = deal(t, 'offerer', 5, Math.random());
      got.add(d.index);
      t = d.table;
    }
    expect(got.size).toBe(5);
    const again = deal(t, 'offerer', 5, 0);
    expect(again.index).not.toBe(t.index);
    expect(pickCard(emptyTable(), 1, 0.99)).toBe(0);
  });
});
