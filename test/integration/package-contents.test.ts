/**
 * What `npm pack` ships: dist/ (every entry point package.json names), each Lua script once, no
 * TypeScript sources, and source maps that carry their sources (the .ts files are not shipped).
 * `prepack` is a clean build (`clean-dist.mjs`, then the same `npm run build` that made dist/ for
 * the rest of the suite), so the listing is taken from that build with `--ignore-scripts`: the
 * suite compiles once, not twice. A since-deleted source's output left in a working copy's dist/
 * shows here as a failure; `npm run prepack` clears it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, ensureBuilt } from '../support/build.js';

interface PackageJson {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | { types?: string; import?: string }>;
  scripts: Record<string, string>;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

/** Every Lua file under src/projections/scripts, relative to it. */
function luaScripts(dir = 'src/projections/scripts', prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? luaScripts(`${dir}/${e.name}`, `${prefix}${e.name}/`)
      : e.name.endsWith('.lua')
        ? [`${prefix}${e.name}`]
        : [],
  );
}

// The suite's build (pretest); made here when missing or older than the sources.
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

describe('npm pack', () => {
  it('prepack is a clean build that installs nothing', () => {
    expect(pkg.scripts.prepack).toMatch(/clean-dist\.mjs && npm run (--silent )?build$/);
    expect(pkg.scripts.prepack).not.toMatch(/ensure-deps|npm (ci|install)/);
  });

  it('ships the build, each Lua script once, no sources, and self-contained source maps', () => {
    const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(run.status, run.stderr).toBe(0);
    const [report] = JSON.parse(run.stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(report!.files.map((f) => f.path));

    const named = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') named.push(target);
      else named.push(...[target.types, target.import].filter((t): t is string => t !== undefined));
    }
    for (const path of named) expect(files, path).toContain(path.replace(/^\.\//, ''));

    const lua = [...files].filter((f) => f.endsWith('.lua')).sort();
    expect(lua).toEqual(
      luaScripts()
        .map((f) => `dist/src/projections/scripts/${f}`)
        .sort(),
    );
    expect(
      [...files].filter((f) => f.startsWith('src/') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    ).toEqual([]);

    const maps = [...files].filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(map, 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      expect(sourcesContent?.length, map).toBe(sources.length);
      expect(
        sourcesContent!.every((s) => typeof s === 'string' && s.length > 0),
        map,
      ).toBe(true);
    }
  });
});
