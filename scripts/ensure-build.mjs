/* global console, process */
// Builds dist/ (`npm run build`) when it is missing or older than the sources (src/, and ui/ for
// the dashboard in dist/ui), so `npm start` runs the compiled CLI (a CLI call from dist/ starts in
// ~0.2 s, through tsx in ~1.4 s) with a current dashboard, and the package's own name, 'codeq',
// resolves from a clone. Builtins only. Never installs anything.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Written by scripts/copy-assets.mjs, the build's last step: the build finished. */
const stamp = 'dist/.built';
/** What the build reads besides the sources. */
const inputs = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/copy-assets.mjs',
  'ui/index.html',
  'ui/vite.config.ts',
  'ui/tsconfig.json',
];

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs; // a deleted file shows as its directory's change
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : -1;
// ui/src is the dashboard, built into dist/ui by the same script.
const sources = Math.max(
  newest('src'),
  newest('ui/src'),
  newest('ui/public'),
  ...inputs.filter((f) => existsSync(f)).map(newest),
);
if (built < sources) {
  console.error('codeq: building dist/ (npm run build)…');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
