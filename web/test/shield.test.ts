import { describe, expect, it } from 'vitest';
import { MAX_SAMPLE_GAP_MS, NUDITY_THRESHOLD, NudityShield, nudityScore, SAMPLE_INTERVAL_MS, type NsfwScores } from '../src/shield/decide';

const S = SAMPLE_INTERVAL_MS;
const nude = (p = 0.9): NsfwScores => ({ drawing: 0, hentai: 0, neutral: 1 - p, porn: p, sexy: 0 });
const safe = (): NsfwScores => ({ drawing: 0.02, hentai: 0.01, neutral: 0.9, porn: 0.02, sexy: 0.05 });

/** Feeds scores one a second from t0; returns the index of the sample that covered, or -1. */
function feed(shield: NudityShield, seq: Array<Partial<NsfwScores> | null>, t0 = 0, step = S): number {
  let covered = -1;
  seq.forEach((s, i) => {
    if (shield.sample(s, t0 + i * step) && covered < 0) covered = i;
  });
  return covered;
}

describe('nudityScore', () => {
  it('adds the explicit classes and ignores the suggestive one', () => {
    expect(nudityScore({ porn: 0.4, hentai: 0.3, sexy: 0.9 })).toBeCloseTo(0.7);
    expect(nudityScore({ sexy: 0.99, neutral: 0.01 })).toBe(0);
    expect(nudityScore(safe())).toBeCloseTo(0.03);
  });

  it('treats anything broken as 0 and never goes past 1', () => {
    expect(nudityScore(null)).toBe(0);
    expect(nudityScore(undefined)).toBe(0);
    expect(nudityScore({ porn: NaN, hentai: Infinity })).toBe(0);
    expect(nudityScore({ porn: -5, hentai: 0.2 })).toBeCloseTo(0.2);
    expect(nudityScore({ porn: '0.9' as unknown as number })).toBe(0);
    expect(nudityScore({ porn: 0.9, hentai: 0.9 })).toBe(1);
  });
});

describe('NudityShield', () => {
  it('covers on the second nudity sample in a row, not the first', () => {
    const sh = new NudityShield();
    expect(sh.sample(nude(), 0)).toBe(false);
    expect(sh.covered).toBe(false);
    expect(sh.sample(nude(), S)).toBe(true);
    expect(sh.covered).toBe(true);
    expect(sh.view).toBe('covered');
  });

  it('never covers for single frames between safe ones', () => {
    const sh = new NudityShield();
    expect(feed(sh, [safe(), nude(), safe(), nude(), safe(), nude(), safe()])).toBe(-1);
    expect(sh.covered).toBe(false);
  });

  it('uses the threshold: just under never covers, at the threshold does', () => {
    const under = new NudityShield();
    expect(feed(under, Array(10).fill(nude(NUDITY_THRESHOLD - 0.001)))).toBe(-1);
    const at = new NudityShield();
    expect(feed(at, [nude(NUDITY_THRESHOLD), nude(NUDITY_THRESHOLD)])).toBe(1);
    // porn and hentai together cross it.
    const mixed = new NudityShield();
    expect(feed(mixed, [{ porn: 0.35, hentai: 0.3 }, { porn: 0.3, hentai: 0.35 }])).toBe(1);
  });

  it('covers at once when the scores cross after a long safe stretch', () => {
    const sh = new NudityShield();
    const seq = [...Array(30).fill(safe()), nude(), nude()];
    expect(feed(sh, seq)).toBe(31);
  });

  it('does not count samples far apart as in a row', () => {
    const sh = new NudityShield();
    expect(sh.sample(nude(), 0)).toBe(false);
    expect(sh.sample(nude(), MAX_SAMPLE_GAP_MS + 1)).toBe(false);
    expect(sh.sample(nude(), MAX_SAMPLE_GAP_MS + 1 + S)).toBe(true);
  });

  it('keeps the cover and its notice for the rest of the call, whatever the later scores', () => {
    const sh = new NudityShield();
    feed(sh, [nude(), nude()]);
    expect(feed(sh, Array(60).fill(safe()), 2 * S)).toBe(-1);
    expect(sh.covered).toBe(true);
    // Broken results do not lift it either.
    feed(sh, [null, { porn: NaN }], 70 * S);
    expect(sh.covered).toBe(true);
    // And it reports covering once only.
    expect(feed(sh, [nude(), nude(), nude()], 80 * S)).toBe(-1);
  });

  it('Show anyway uncovers and stops checking for this call only', () => {
    const sh = new NudityShield();
    feed(sh, [nude(), nude()]);
    sh.showAnyway();
    expect(sh.covered).toBe(false);
    expect(sh.active).toBe(false);
    expect(feed(sh, Array(5).fill(nude()), 3 * S)).toBe(-1);
    expect(sh.covered).toBe(false);
    // The next stranger is checked again from a clean start.
    sh.reset();
    expect(sh.active).toBe(true);
    expect(sh.shownAnyway).toBe(false);
    expect(sh.covered).toBe(false);
    expect(feed(sh, [nude(), nude()], 100 * S)).toBe(1);
  });

  it('a new stranger starts clear, and a nudity sample of the last one does not count', () => {
    const sh = new NudityShield();
    feed(sh, [safe(), nude()]);
    sh.reset();
    expect(sh.sample(nude(), 2 * S)).toBe(false);
    expect(sh.sample(nude(), 3 * S)).toBe(true);
    sh.reset();
    expect(sh.covered).toBe(false);
  });

  it('off never covers; turning it off uncovers at once; on again starts afresh', () => {
    const off = new NudityShield(false);
    expect(feed(off, Array(5).fill(nude()))).toBe(-1);
    expect(off.covered).toBe(false);
    expect(off.active).toBe(false);

    const sh = new NudityShield();
    feed(sh, [nude(), nude()]);
    sh.setEnabled(false);
    expect(sh.covered).toBe(false);
    sh.setEnabled(true);
    expect(sh.covered).toBe(false);
    expect(sh.sample(nude(), 10 * S)).toBe(false);
    expect(sh.sample(nude(), 11 * S)).toBe(true);
  });
});
