// Messages between the page and the face detector worker.

export type FaceSource = 'local' | 'remote';

export type ToWorker =
  | { type: 'init' }
  | { type: 'detect'; id: number; source: FaceSource; bitmap: ImageBitmap };

export type FromWorker =
  | { type: 'ready'; backend: string; ms: number }
  | { type: 'error'; message: string }
  | { type: 'result'; id: number; source: FaceSource; found: boolean; score: number; ms: number; tensors: number; error?: string };
