// Copies the Lua scripts (and their includes, scripts/includes) next to the compiled projection
// modules so `dist/` runs on its own, then stamps the build as finished (scripts/ensure-build.mjs).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('dist/src/projections/scripts', { recursive: true });
cpSync('src/projections/scripts', 'dist/src/projections/scripts', { recursive: true });
writeFileSync('dist/.built', `${new Date().toISOString()}\n`);
