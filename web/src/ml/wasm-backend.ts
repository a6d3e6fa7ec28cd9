// The tfjs WASM backend both local models run on (face-api's bundled tfjs
// and the shield's): its binaries are our own files, copied into dist by
// Vite, never a CDN. The threaded build needs cross-origin isolation, which
// we do not have, so it is disabled outright.

import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';

/** The part of a tfjs engine that starting the backend needs. */
export interface WasmEngine {
  env(): { set(flag: string, value: unknown): void };
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
}

export async function startWasmBackend(
  tf: WasmEngine,
  setWasmPaths: (paths: Record<string, string>) => void,
): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const abs = (u: string) => new URL(u, self.location.href).href;
  setWasmPaths({
    'tfjs-backend-wasm.wasm': abs(wasmUrl),
    'tfjs-backend-wasm-simd.wasm': abs(wasmSimdUrl),
    'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmSimdUrl),
  });
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend could not start');
  await tf.ready();
}
