// Messages between the page and the nudity shield's worker.

import type { NsfwScores } from './decide';

export type ToShieldWorker = { type: 'init' } | { type: 'classify'; id: number; bitmap: ImageBitmap };

export type FromShieldWorker =
  | { type: 'ready'; backend: string; ms: number }
  | { type: 'error'; message: string }
  | { type: 'result'; id: number; scores: NsfwScores | null; ms: number; tensors: number };
