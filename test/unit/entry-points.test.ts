/**
 * The package's entry points load what their users need and no more: `codeq/client` (a producer or
 * worker over HTTP) must not pull in the server's dependencies. Walks the runtime import graph of
 * the sources (type-only imports are erased by the compiler and do not count).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runtime specifiers of one module: `import`/`export … from`, side-effect and dynamic imports. */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s+'([^']+)'/g;
  for (const m of source.matchAll(statement)) if (!m[2]) out.push(m[4]!);
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) out.push(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Every package (bare specifier's name) reachable from a source file. */
function packagesReachable(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const stack = [resolve(ROOT, entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!spec.startsWith('node:')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return packages;
}

describe('entry points', () => {
  it('codeq/client loads no server dependency', () => {
    // The OpenTelemetry API (no SDK, no dependencies of its own): the worker's handler spans; NATS's
    // core client (pure protocol, no JetStream, no transport: the caller connects): NatsTransport.
    expect([...packagesReachable('src/entries/client.ts')].sort()).toEqual([
      '@nats-io/nats-core',
      '@opentelemetry/api',
    ]);
  });

  it('codeq/engine loads no HTTP server', () => {
    const packages = packagesReachable('src/entries/engine.ts');
    expect(packages.has('fastify')).toBe(false);
    expect(packages.has('ioredis')).toBe(true); // the walk does see packages
  });

  it('package.json maps each entry point to its built module', () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { import: string }>;
    };
    for (const [name, file] of [
      ['.', 'index'],
      ['./client', 'entries/client'],
      ['./engine', 'entries/engine'],
      ['./server', 'entries/server'],
    ] as const) {
      expect(pkg.exports[name]?.import).toBe(`./dist/src/${file}.js`);
    }
  });
});
