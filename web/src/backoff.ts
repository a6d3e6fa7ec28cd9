// Exponential backoff with jitter for reconnecting the signaling socket.

export interface BackoffOptions {
  /** First delay in ms. */
  base: number;
  /** Largest delay in ms. */
  max: number;
  /** Multiplier per attempt. */
  factor: number;
  /** Fraction of the delay that is randomised (0..1). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { base: 250, max: 8000, factor: 2, jitter: 0.3 };

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry).
 * `random` is injectable for tests; it must return a number in [0, 1).
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const a = Math.max(0, Math.floor(attempt));
  const raw = Math.min(opts.max, opts.base * Math.pow(opts.factor, a));
  const spread = raw * opts.jitter;
  // Centered jitter: raw - spread/2 .. raw + spread/2, clamped to [0, max].
  const d = raw - spread / 2 + random() * spread;
  return Math.round(Math.min(opts.max, Math.max(0, d)));
}
