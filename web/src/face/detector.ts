// Page side of face detection: grabs small frames from the local preview and
// the stranger's video a few times a second and has the worker judge them.
// One frame is in flight at a time, so a slow machine just gets fewer checks,
// never a backlog. Falls back to the main thread (throttled further) where
// workers cannot do the job (no OffscreenCanvas or module workers).

import type { FaceSource, FromWorker, ToWorker } from './messages';

export interface DetectorEvents {
  result(source: FaceSource, found: boolean, score: number): void;
  status(status: DetectorStatus): void;
}

export type DetectorStatus =
  | { state: 'loading' }
  | { state: 'ready'; where: 'worker' | 'main'; backend: string; loadMs: number }
  | { state: 'unavailable'; why: string };

/** Minimum ms between checks of each source, worker / main thread. */
const INTERVAL = {
  worker: { local: 500, remote: 300 },
  main: { local: 1000, remote: 600 },
} as const;
const HIDDEN_FACTOR = 4;
const FRAME_WIDTH = 320;
const RESULT_TIMEOUT_MS = 5_000;

export interface DetectorStats {
  where: 'worker' | 'main' | 'none';
  backend: string;
  detections: { local: number; remote: number };
  lastMs: number;
  avgMs: number;
  tensors: number;
}

type Verdict = { found: boolean; score: number; ms: number; tensors: number };
type Runner = (bitmapOrImage: ImageBitmap | ImageData, source: FaceSource) => Promise<Verdict>;

export class FaceDetector {
  private sources: Record<FaceSource, HTMLVideoElement | null> = { local: null, remote: null };
  private lastRun: Record<FaceSource, number> = { local: 0, remote: 0 };
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private worker: Worker | null = null;
  private run: Runner | null = null;
  private where: 'worker' | 'main' | 'none' = 'none';
  private started = false;
  private nextId = 1;
  private waiting = new Map<number, (r: Verdict) => void>();
  private canvas: HTMLCanvasElement | null = null;
  readonly stats: DetectorStats = { where: 'none', backend: '', detections: { local: 0, remote: 0 }, lastMs: 0, avgMs: 0, tensors: 0 };

  constructor(private readonly events: DetectorEvents) {}

  /** Starts loading the model (lazily, once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.events.status({ state: 'loading' });
    void this.boot();
  }

  /** Sets (or clears) the video element to watch for a source. */
  watch(source: FaceSource, video: HTMLVideoElement | null): void {
    this.sources[source] = video;
    this.schedule(0);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.worker?.terminate();
    this.worker = null;
    this.run = null;
    this.sources = { local: null, remote: null };
  }

  private async boot(): Promise<void> {
    const t0 = performance.now();
    if (typeof Worker !== 'undefined' && typeof OffscreenCanvas !== 'undefined' && typeof createImageBitmap !== 'undefined') {
      try {
        const backend = await this.bootWorker();
        this.where = 'worker';
        this.ready(backend, performance.now() - t0);
        return;
      } catch (e) {
        console.warn('[face] worker unavailable, using the main thread', e);
        this.worker?.terminate();
        this.worker = null;
      }
    }
    try {
      const engine = await import('./engine');
      const backend = await engine.loadEngine();
      this.run = async (img) => {
        const t = performance.now();
        const r = await engine.detect(img as ImageData);
        return { ...r, ms: performance.now() - t };
      };
      this.where = 'main';
      this.ready(backend, performance.now() - t0);
    } catch (e) {
      this.events.status({ state: 'unavailable', why: e instanceof Error ? e.message : String(e) });
    }
  }

  private ready(backend: string, loadMs: number): void {
    this.stats.where = this.where;
    this.stats.backend = backend;
    this.events.status({ state: 'ready', where: this.where as 'worker' | 'main', backend, loadMs });
    this.schedule(0);
  }

  private bootWorker(): Promise<string> {
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'face-detector' });
      this.worker = w;
      const fail = (why: string) => reject(new Error(why));
      w.onerror = (ev) => fail(ev.message || 'worker failed to load');
      w.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        if (m.type === 'ready') {
          w.onerror = (e) => console.warn('[face] worker error', e.message);
          this.run = (bitmap, source) =>
            new Promise((res) => {
              const id = this.nextId++;
              this.waiting.set(id, res);
              // A wedged worker must not stall detection for good.
              setTimeout(() => {
                if (this.waiting.delete(id)) res({ found: false, score: 0, ms: RESULT_TIMEOUT_MS, tensors: -1 });
              }, RESULT_TIMEOUT_MS);
              this.post({ type: 'detect', id, source, bitmap: bitmap as ImageBitmap }, [bitmap as ImageBitmap]);
            });
          resolve(m.backend);
        } else if (m.type === 'error') fail(m.message);
        else if (m.type === 'result') {
          const done = this.waiting.get(m.id);
          this.waiting.delete(m.id);
          done?.({ found: m.found, score: m.score, ms: m.ms, tensors: m.tensors });
        }
      };
      this.post({ type: 'init' }, []);
    });
  }

  private post(msg: ToWorker, transfer: Transferable[]): void {
    this.worker?.postMessage(msg, transfer);
  }

  private schedule(ms: number): void {
    if (!this.run || this.busy) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, ms);
  }

  private pick(now: number): { source: FaceSource; wait: number } | null {
    const iv = INTERVAL[this.where === 'main' ? 'main' : 'worker'];
    const factor = typeof document !== 'undefined' && document.hidden ? HIDDEN_FACTOR : 1;
    let best: { source: FaceSource; wait: number } | null = null;
    for (const source of ['remote', 'local'] as const) {
      const v = this.sources[source];
      if (!v) continue;
      const wait = Math.max(0, this.lastRun[source] + iv[source] * factor - now);
      if (!best || wait < best.wait) best = { source, wait };
    }
    return best;
  }

  private async pump(): Promise<void> {
    if (!this.run || this.busy) return;
    const now = performance.now();
    const pick = this.pick(now);
    if (!pick) return; // nothing to watch; watch() reschedules
    if (pick.wait > 0) return this.schedule(pick.wait);
    const { source } = pick;
    const video = this.sources[source];
    this.lastRun[source] = now;
    if (!video || video.readyState < 2 || video.videoWidth === 0) return this.schedule(100);
    this.busy = true;
    try {
      const frame = await this.grab(video);
      if (frame && this.run) {
        const r = await this.run(frame, source);
        this.stats.detections[source]++;
        this.stats.lastMs = r.ms;
        this.stats.tensors = r.tensors;
        this.stats.avgMs = this.stats.avgMs ? this.stats.avgMs * 0.9 + r.ms * 0.1 : r.ms;
        // The source may have changed while we waited; drop stale verdicts.
        if (this.sources[source] === video) this.events.result(source, r.found, r.score);
      }
    } catch (e) {
      console.warn('[face] detection failed', e);
    } finally {
      this.busy = false;
      this.schedule(0);
    }
  }

  private async grab(video: HTMLVideoElement): Promise<ImageBitmap | ImageData | null> {
    const w = FRAME_WIDTH;
    const h = Math.max(1, Math.round((video.videoHeight / video.videoWidth) * w));
    if (this.where === 'worker') {
      return createImageBitmap(video, { resizeWidth: w, resizeHeight: h, resizeQuality: 'low' });
    }
    if (!this.canvas) this.canvas = document.createElement('canvas');
    const c = this.canvas;
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    if (!ctx) return null;
    ctx.drawImage(video, 0, 0, w, h);
    return ctx.getImageData(0, 0, w, h);
  }
}
