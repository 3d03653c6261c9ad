// Copies the Lua scripts (and their includes, scripts/includes) next to the compiled projection
// modules so `dist/` runs on its own.
import { cpSync, mkdirSync } from 'node:fs';
mkdirSync('dist/src/projections/scripts', { recursive: true });
cpSync('src/projections/scripts', 'dist/src/projections/scripts', { recursive: true });
