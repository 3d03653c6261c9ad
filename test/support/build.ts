/** The compiled package (`dist/`) for tests that run what users run: the start script, `'codeq'`. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/**
 * The `codeq` command as installed (package.json's `bin`, in dist/; run it with `process.execPath`
 * after {@link ensureBuilt}). It starts in ~0.2 s where the sources through tsx take ~1.4 s.
 */
export const CLI_BIN: string = (
  JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }
).bin.codeq!;
