// The nudity shield's worker: NSFWJS's MobileNetV2 (the model that ships
// inside the npm package, bundled into our build) on the tfjs WASM backend.
// Its own worker, because face-api bundles its own tfjs and two tfjs engines
// cannot share a thread. Frames come in as ImageBitmaps already 224x224 (the
// model's input); only the five class probabilities go back to the page.

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import { load, type NSFWJS } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import type { NsfwScores } from './decide';
import type { FromShieldWorker, ToShieldWorker } from './messages';

const scope = self as unknown as {
  postMessage(msg: FromShieldWorker): void;
  onmessage: ((ev: MessageEvent<ToShieldWorker>) => void) | null;
};

let model: NSFWJS | null = null;
let canvas: OffscreenCanvas | null = null;
let ctx: OffscreenCanvasRenderingContext2D | null = null;

async function boot(): Promise<string> {
  // Our own files (copied into dist by Vite), never a CDN; no threads (no cross-origin isolation).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const abs = (u: string) => new URL(u, self.location.href).href;
  setWasmPaths({
    'tfjs-backend-wasm.wasm': abs(wasmUrl),
    'tfjs-backend-wasm-simd.wasm': abs(wasmSimdUrl),
    'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmSimdUrl),
  });
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend could not start');
  await tf.ready();
  // The weights come from the bundle (a chunk of our build), not a URL;
  // load() also runs one warm-up prediction.
  model = await load('MobileNetV2', { size: 224, modelDefinitions: [MobileNetV2Model] });
  return tf.getBackend();
}

function pixels(bitmap: ImageBitmap): ImageData {
  const { width, height } = bitmap;
  if (!canvas || canvas.width !== width || canvas.height !== height) {
    canvas = new OffscreenCanvas(width, height);
    ctx = canvas.getContext('2d', { willReadFrequently: true });
  }
  if (!ctx) throw new Error('no 2d context on OffscreenCanvas');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, width, height);
}

async function classify(bitmap: ImageBitmap): Promise<NsfwScores> {
  if (!model) throw new Error('model not loaded');
  const found = await model.classify(pixels(bitmap), 5);
  const p = (name: string) => found.find((c) => c.className === name)?.probability ?? 0;
  return { drawing: p('Drawing'), hentai: p('Hentai'), neutral: p('Neutral'), porn: p('Porn'), sexy: p('Sexy') };
}

scope.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === 'init') {
    const t0 = performance.now();
    try {
      const backend = await boot();
      scope.postMessage({ type: 'ready', backend, ms: performance.now() - t0 });
    } catch (e) {
      scope.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  } else if (msg.type === 'classify') {
    const t0 = performance.now();
    let scores: NsfwScores | null = null;
    try {
      scores = await classify(msg.bitmap);
    } catch {
      // A frame that cannot be read counts as no verdict.
    } finally {
      msg.bitmap.close();
    }
    scope.postMessage({ type: 'result', id: msg.id, scores, ms: performance.now() - t0, tensors: tf.memory().numTensors });
  }
};
