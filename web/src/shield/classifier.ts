// Page side of the nudity shield: about once a second, grabs one frame of
// the stranger's video (224x224, the model's input) and has the shield's
// worker classify it. One frame in flight at a time, so a slow machine gets
// fewer checks, never a backlog. Only the stranger's video is ever watched,
// and the scores go nowhere but the page's own NudityShield.

import { SAMPLE_INTERVAL_MS, type NsfwScores } from './decide';
import type { FromShieldWorker, ToShieldWorker } from './messages';

export type ClassifierState = 'off' | 'loading' | 'ready' | 'unavailable';

export interface ClassifierEvents {
  /** One classification (null: the frame could not be judged). */
  result(scores: NsfwScores | null): void;
  status(state: ClassifierState): void;
}

export interface ClassifierStats {
  state: ClassifierState;
  backend: string;
  loadMs: number;
  samples: number;
  lastMs: number;
  /** The last classification times (worker side), for the cost measurement. */
  recentMs: number[];
  /** Total time the worker spent classifying, and since when (for the CPU share). */
  busyMs: number;
  since: number;
  /** The model's own scores of the last frame (before any test override). */
  last: NsfwScores | null;
  tensors: number;
}

const MODEL_SIZE = 224;
const HIDDEN_FACTOR = 4;
const RESULT_TIMEOUT_MS = 5_000;
const RECENT = 120;

export class NudityClassifier {
  private worker: Worker | null = null;
  private video: HTMLVideoElement | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private busy = false;
  private lastRun = -Infinity;
  private nextId = 1;
  private waiting = new Map<number, (m: Extract<FromShieldWorker, { type: 'result' }> | null) => void>();
  /** Test hook: replaces the model's nudity verdict (never its cost: frames are still classified). */
  forced: number | null = null;
  readonly stats: ClassifierStats = { state: 'off', backend: '', loadMs: 0, samples: 0, lastMs: 0, recentMs: [], busyMs: 0, since: 0, last: null, tensors: 0 };

  constructor(private readonly events: ClassifierEvents) {}

  /** Loads the model in its worker (once). Browsers without module workers and OffscreenCanvas go without. */
  start(): void {
    if (this.stats.state !== 'off') return;
    if (typeof Worker === 'undefined' || typeof OffscreenCanvas === 'undefined' || typeof createImageBitmap === 'undefined') {
      this.setState('unavailable');
      return;
    }
    this.setState('loading');
    const t0 = performance.now();
    const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'nudity-shield' });
    this.worker = w;
    const fail = (why: string) => {
      console.warn('[shield] unavailable:', why);
      w.terminate();
      this.worker = null;
      this.setState('unavailable');
    };
    w.onerror = (ev) => fail(ev.message || 'worker failed to load');
    w.onmessage = (ev: MessageEvent<FromShieldWorker>) => {
      const m = ev.data;
      if (m.type === 'ready') {
        w.onerror = (e) => console.warn('[shield] worker error', e.message);
        this.stats.backend = m.backend;
        this.stats.loadMs = performance.now() - t0;
        this.stats.since = performance.now();
        console.info(`[shield] ${m.backend} backend in a worker, ready in ${Math.round(this.stats.loadMs)} ms`);
        this.setState('ready');
        this.schedule(0);
      } else if (m.type === 'error') fail(m.message);
      else if (m.type === 'result') {
        const done = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        done?.(m);
      }
    };
    this.post({ type: 'init' }, []);
  }

  /** Sets (or clears) the stranger's video to watch. */
  watch(video: HTMLVideoElement | null): void {
    this.video = video;
    this.schedule(0);
  }

  private setState(s: ClassifierState): void {
    this.stats.state = s;
    this.events.status(s);
  }

  private post(msg: ToShieldWorker, transfer: Transferable[]): void {
    this.worker?.postMessage(msg, transfer);
  }

  private schedule(ms: number): void {
    if (this.stats.state !== 'ready' || this.busy || !this.video) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, ms);
  }

  private async pump(): Promise<void> {
    const video = this.video;
    if (!video || this.busy) return;
    const interval = SAMPLE_INTERVAL_MS * (document.hidden ? HIDDEN_FACTOR : 1);
    const wait = this.lastRun + interval - performance.now();
    if (wait > 0) return this.schedule(wait);
    if (video.readyState < 2 || video.videoWidth === 0) return this.schedule(100);
    this.lastRun = performance.now();
    this.busy = true;
    try {
      const bitmap = await createImageBitmap(video, { resizeWidth: MODEL_SIZE, resizeHeight: MODEL_SIZE, resizeQuality: 'medium' });
      const r = await this.classify(bitmap);
      // The stranger may have changed while we waited: drop a stale verdict.
      if (r && this.video === video) {
        this.note(r);
        const scores = this.forced === null ? r.scores : { drawing: 0, hentai: 0, neutral: 1 - this.forced, porn: this.forced, sexy: 0 };
        this.events.result(scores);
      }
    } catch (e) {
      console.warn('[shield] classification failed', e);
    } finally {
      this.busy = false;
      this.schedule(0);
    }
  }

  private classify(bitmap: ImageBitmap): Promise<Extract<FromShieldWorker, { type: 'result' }> | null> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.waiting.set(id, resolve);
      // A wedged worker must not stop the shield for good.
      setTimeout(() => {
        if (this.waiting.delete(id)) resolve(null);
      }, RESULT_TIMEOUT_MS);
      this.post({ type: 'classify', id, bitmap }, [bitmap]);
    });
  }

  private note(r: Extract<FromShieldWorker, { type: 'result' }>): void {
    const s = this.stats;
    s.samples++;
    s.lastMs = r.ms;
    s.busyMs += r.ms;
    s.tensors = r.tensors;
    s.last = r.scores;
    s.recentMs.push(r.ms);
    if (s.recentMs.length > RECENT) s.recentMs.shift();
  }
}
