import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/backoff';

describe('backoffDelay', () => {
  const mid = () => 0.5;
  it('doubles from the base up to the max', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, DEFAULT_BACKOFF, mid))).toEqual([250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('stays within the jitter band and never exceeds max', () => {
    for (let a = 0; a < 12; a++) {
      const lo = backoffDelay(a, DEFAULT_BACKOFF, () => 0);
      const hi = backoffDelay(a, DEFAULT_BACKOFF, () => 0.999999);
      const raw = Math.min(DEFAULT_BACKOFF.max, DEFAULT_BACKOFF.base * 2 ** a);
      expect(lo).toBeGreaterThanOrEqual(Math.round(raw * 0.85) - 1);
      expect(hi).toBeLessThanOrEqual(DEFAULT_BACKOFF.max);
    }
  });

  it('retries several times within the 15 s resume window', () => {
    let t = 0;
    let n = 0;
    while (t + backoffDelay(n, DEFAULT_BACKOFF, mid) < 15_000) t += backoffDelay(n++, DEFAULT_BACKOFF, mid);
    expect(n).toBeGreaterThanOrEqual(5);
  });

  it('treats negative attempts as the first', () => {
    expect(backoffDelay(-3, DEFAULT_BACKOFF, mid)).toBe(250);
  });
});
