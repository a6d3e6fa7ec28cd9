// The face detector worker: receives downscaled frames as ImageBitmaps
// (transferred, not copied), turns them into pixels on an OffscreenCanvas and
// answers with a verdict. Nothing but that verdict ever leaves.

import { detect, loadEngine } from './engine';
import type { FromWorker, ToWorker } from './messages';
import { BitmapPixels } from '../ml/bitmap-pixels';

const scope = self as unknown as {
  postMessage(msg: FromWorker): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
};

const pixels = new BitmapPixels();

scope.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === 'init') {
    const t0 = performance.now();
    try {
      const backend = await loadEngine();
      scope.postMessage({ type: 'ready', backend, ms: performance.now() - t0 });
    } catch (e) {
      scope.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  if (msg.type === 'detect') {
    const t0 = performance.now();
    try {
      const img = pixels.read(msg.bitmap);
      const r = await detect(img);
      scope.postMessage({ type: 'result', id: msg.id, source: msg.source, found: r.found, score: r.score, tensors: r.tensors, ms: performance.now() - t0 });
    } catch (e) {
      scope.postMessage({ type: 'result', id: msg.id, source: msg.source, found: false, score: 0, tensors: -1, ms: performance.now() - t0, error: String(e) });
    } finally {
      msg.bitmap.close();
    }
  }
};
