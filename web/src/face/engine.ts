// The face detector itself: @vladmandic/face-api's TinyFaceDetector on the
// tfjs WASM backend (the tfjs that face-api bundles, 4.22.0). Works in a
// worker (no DOM needed: the weights are fetched and decoded here, and input
// is plain ImageData) and, as a fallback, on the main thread.

import * as faceapi from '@vladmandic/face-api';
import manifest from '@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json';
import modelUrl from '@vladmandic/face-api/model/tiny_face_detector_model.bin?url';
import { startWasmBackend } from '../ml/wasm-backend';

/** The parts of the bundled tfjs that face-api's typings do not declare. */
interface TfRuntime {
  setWasmPaths(paths: Record<string, string>, usePlatformFetch?: boolean): void;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  memory(): { numTensors: number };
  env(): { set(flag: string, value: unknown): void };
  io: { decodeWeights(buf: ArrayBuffer, specs: unknown): faceapi.tf.NamedTensorMap };
  browser: { fromPixels(px: ImageData, channels?: number): faceapi.tf.Tensor3D };
}

const tf = faceapi.tf as unknown as TfRuntime;

/** Input size of the detector network (a multiple of 32; smaller is faster). */
export const INPUT_SIZE = 224;
export const SCORE_THRESHOLD = 0.5;

export interface Detection {
  found: boolean;
  score: number;
  /** Live tensors after the run (a leak check for tests). */
  tensors: number;
}

let loading: Promise<string> | null = null;

/** Loads the backend and the model once. Resolves to the backend's name. */
export function loadEngine(): Promise<string> {
  if (!loading) loading = load();
  return loading;
}

/**
 * face-api looks for a DOM at run time; a worker has none. Give it a minimal
 * environment built on OffscreenCanvas (only the tensor path is used: we pass
 * pixels, never media elements).
 */
function ensureEnv(): void {
  if (faceapi.env.isBrowser() || faceapi.env.isNodejs()) return;
  const g = globalThis as unknown as Record<string, unknown>;
  const Canvas = (g.OffscreenCanvas ?? class {}) as unknown as typeof HTMLCanvasElement;
  const Ctx = (g.OffscreenCanvasRenderingContext2D ?? class {}) as unknown as typeof CanvasRenderingContext2D;
  const none = class {} as unknown;
  faceapi.env.setEnv({
    Canvas,
    CanvasRenderingContext2D: Ctx,
    Image: none as typeof HTMLImageElement,
    Video: none as typeof HTMLVideoElement,
    ImageData,
    createCanvasElement: () => new OffscreenCanvas(1, 1) as unknown as HTMLCanvasElement,
    createImageElement: () => {
      throw new Error('no images in a worker');
    },
    createVideoElement: () => {
      throw new Error('no video in a worker');
    },
    fetch: (url: string, init?: RequestInit) => fetch(url, init),
    readFile: () => {
      throw new Error('no file system');
    },
  } as faceapi.Environment);
}

async function load(): Promise<string> {
  ensureEnv();
  await startWasmBackend(tf, (paths) => tf.setWasmPaths(paths));
  const res = await fetch(new URL(modelUrl, self.location.href).href);
  if (!res.ok) throw new Error(`model fetch failed: ${res.status}`);
  const buf = await res.arrayBuffer();
  const specs = (manifest as Array<{ weights: unknown }>)[0].weights;
  const weights = tf.io.decodeWeights(buf, specs);
  faceapi.nets.tinyFaceDetector.loadFromWeightMap(weights);
  // Warm up so the first real frame is not slow.
  await detect(new ImageData(64, 48));
  return tf.getBackend();
}

const options = new faceapi.TinyFaceDetectorOptions({ inputSize: INPUT_SIZE, scoreThreshold: SCORE_THRESHOLD });

/** Runs one detection; `found` when at least one face scores above the threshold. */
export async function detect(img: ImageData): Promise<Detection> {
  const input = tf.browser.fromPixels(img, 3);
  try {
    const faces = await faceapi.nets.tinyFaceDetector.locateFaces(input, options);
    let score = 0;
    for (const f of faces) score = Math.max(score, f.score);
    input.dispose();
    return { found: faces.length > 0, score, tensors: tf.memory().numTensors };
  } catch (e) {
    input.dispose();
    throw e;
  }
}
