import { defineConfig } from 'vitest/config';

// Everything is served from our own origin: the face model, tfjs's WASM
// binaries and the font are imported with `?url` / from CSS, so Vite copies
// them (hashed) into dist/assets at build time. Nothing is inlined as a
// data: URL (the CSP allows data: for images only) and no inline script or
// style is generated.
const devServer = process.env.SERENDIP_DEV_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  worker: {
    format: 'es',
  },
  // `npm run dev`: the page from Vite, /ws proxied to a running server
  // (SERENDIP_DEV_SERVER, default http://127.0.0.1:8080).
  server: {
    proxy: {
      '/ws': { target: devServer, ws: true, changeOrigin: true, headers: { Origin: devServer } },
    },
  },
  // `npm run preview`: the production build under the production CSP.
  preview: {
    headers: {
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    environment: 'node',
  },
});
