// The nudity shield's worker: NSFWJS's MobileNetV2 (the model that ships
// inside the npm package, bundled into our build) on the tfjs WASM backend.
// Its own worker, because face-api bundles its own tfjs and two tfjs engines
// cannot share a thread. Frames come in as ImageBitmaps already 224x224 (the
// model's input); only the five class probabilities go back to the page.

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { load, type NSFWJS } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import type { NsfwScores } from './decide';
import type { FromShieldWorker, ToShieldWorker } from './messages';
import { BitmapPixels } from '../ml/bitmap-pixels';
import { startWasmBackend } from '../ml/wasm-backend';

const scope = self as unknown as {
  postMessage(msg: FromShieldWorker): void;
  onmessage: ((ev: MessageEvent<ToShieldWorker>) => void) | null;
};

let model: NSFWJS | null = null;
const pixels = new BitmapPixels();

async function boot(): Promise<string> {
  await startWasmBackend(tf, setWasmPaths);
  // The weights come from the bundle (a chunk of our build), not a URL;
  // load() also runs one warm-up prediction.
  model = await load('MobileNetV2', { size: 224, modelDefinitions: [MobileNetV2Model] });
  return tf.getBackend();
}

async function classify(bitmap: ImageBitmap): Promise<NsfwScores> {
  if (!model) throw new Error('model not loaded');
  const found = await model.classify(pixels.read(bitmap), 5);
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
