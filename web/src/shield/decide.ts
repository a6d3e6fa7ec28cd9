// The nudity shield's decisions, pure: which score a classification gives,
// when the stranger's video is covered, and for how long. Times are plain
// milliseconds, passed in. Nothing here (or anywhere in the shield) is ever
// sent: the verdict only covers the video on this page.

/** NSFWJS's five classes, as probabilities (they sum to about 1). */
export interface NsfwScores {
  drawing: number;
  hentai: number;
  neutral: number;
  porn: number;
  sexy: number;
}

/** A nudity score at or above this counts as nudity. */
export const NUDITY_THRESHOLD = 0.6;
/** This many nudity samples in a row cover the video (one odd frame does not). */
export const SAMPLES_IN_A_ROW = 2;
/** Samples further apart than this do not count as "in a row" (a hidden tab, a stall). */
export const MAX_SAMPLE_GAP_MS = 3_000;
/** About one sample a second, as the cost budget allows. */
export const SAMPLE_INTERVAL_MS = 1_000;

const clamp01 = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/**
 * The probability that a frame shows nudity: the explicit classes (porn and
 * hentai). "Sexy" (suggestive, clothed) is not nudity on its own. Anything
 * that is not a finite number counts as 0, so a broken result never covers
 * (nor uncovers) anything by itself.
 */
export function nudityScore(s: Partial<NsfwScores> | null | undefined): number {
  if (!s) return 0;
  return clamp01(clamp01(s.porn) + clamp01(s.hentai));
}

export type ShieldView = 'clear' | 'covered';

/**
 * One call's shield. `sample()` feeds each classification; `covered` says
 * whether the stranger's video is hidden. Once covered, the video stays
 * covered, with its notice, for the rest of this call: until Next or Report
 * end the call, or the person chooses "Show anyway", which turns the shield
 * off for this call only. A new stranger (`reset()`) starts clear.
 */
export class NudityShield {
  private run = 0;
  private lastAt = -Infinity;
  private isCovered = false;
  private shown = false;
  private lastScore = 0;

  constructor(private enabled = true) {}

  get covered(): boolean {
    return this.enabled && this.isCovered && !this.shown;
  }

  get view(): ShieldView {
    return this.covered ? 'covered' : 'clear';
  }

  /** Whether samples are wanted at all (on, and not shown anyway this call). */
  get active(): boolean {
    return this.enabled && !this.shown;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  get shownAnyway(): boolean {
    return this.shown;
  }

  get score(): number {
    return this.lastScore;
  }

  /** Feeds one classification of the stranger's video; returns true when this sample covered it. */
  sample(scores: Partial<NsfwScores> | null, now: number): boolean {
    if (!this.active) return false;
    const score = nudityScore(scores);
    this.lastScore = score;
    const inRow = now - this.lastAt <= MAX_SAMPLE_GAP_MS;
    this.lastAt = now;
    if (score < NUDITY_THRESHOLD) {
      this.run = 0;
      return false;
    }
    this.run = inRow ? this.run + 1 : 1;
    if (this.isCovered || this.run < SAMPLES_IN_A_ROW) return false;
    this.isCovered = true;
    return true;
  }

  /** "Show anyway": uncover, and stop checking, for this call only. */
  showAnyway(): void {
    this.shown = true;
  }

  /** The settings switch. Off uncovers at once; on again starts afresh with the next sample. */
  setEnabled(on: boolean): void {
    this.enabled = on;
    if (!on) {
      this.run = 0;
      this.isCovered = false;
    }
  }

  /** A new stranger (or none): clear, checking again. */
  reset(): void {
    this.run = 0;
    this.lastAt = -Infinity;
    this.isCovered = false;
    this.shown = false;
    this.lastScore = 0;
  }
}
