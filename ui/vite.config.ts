/**
 * Builds the dashboard (`ui/`) into `dist/ui/`, which the server serves at `/ui/`. Relative asset
 * URLs (`base: './'`) keep it working behind any path prefix; no CDN, everything is bundled.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  // JSX through Oxc (Vite 8's transformer) with Preact's automatic runtime: no React, no plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // The package ships no sources; a map without them would point at nothing.
    sourcemap: false,
    assetsInlineLimit: 0,
  },
});
