/** The compiled package (`dist/`) for tests that run what users run: the start script, `'codeq'`. */
import { spawnSync } from 'node:child_process';

/** Longest a build may take on a loaded two-core machine, ms (a hook timeout for callers). */
export const BUILD_TIMEOUT_MS = 600_000;

/**
 * Builds `dist/` when it is missing or older than the sources, as `npm start`'s prestart does
 * (scripts/ensure-build.mjs; it never installs anything). Throws when the build fails.
 */
export function ensureBuilt(): void {
  const build = spawnSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`scripts/ensure-build.mjs exited ${build.status}`);
}
