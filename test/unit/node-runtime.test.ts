/**
 * The Node.js the suite runs on is one package.json's `engines` accepts, and, when `.ci/run` asks
 * for a major (`CODEQ_EXPECT_NODE_MAJOR`, its second run on Node 24), that the tests and the
 * `node` they spawn by name are really that major: a PATH mistake would otherwise pass silently.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** `[major, minor, patch]` of `v1.2.3` or `1.2.3`. */
function parseVersion(text: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!m) throw new Error(`not a version: ${text}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * Whether `version` satisfies `range`, for the forms `engines` uses here: `||` of `^x.y.z` (same
 * major, at least x.y.z) and `>=x.y.z`.
 */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((part) => {
    const p = part.trim();
    if (p.startsWith('^')) {
      const min = parseVersion(p.slice(1));
      return v[0] === min[0] && compare(v, min) >= 0;
    }
    if (p.startsWith('>=')) return compare(v, parseVersion(p.slice(2))) >= 0;
    throw new Error(`unsupported range form: ${p}`);
  });
}

const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines
  .node;

describe('Node.js runtime', () => {
  it('the range check reads the forms engines uses', () => {
    expect(satisfies('v20.19.0', '^20.19.0 || >=24.0.0')).toBe(true);
    expect(satisfies('v20.18.3', '^20.19.0 || >=24.0.0')).toBe(false);
    expect(satisfies('v21.7.0', '^20.19.0 || >=24.0.0')).toBe(false);
    expect(satisfies('v24.0.0', '^20.19.0 || >=24.0.0')).toBe(true);
  });

  it(`runs on a Node that package.json's engines (${engines}) accepts`, () => {
    console.log(`tests run on Node ${process.version} (engines: ${engines})`);
    expect(satisfies(process.version, engines)).toBe(true);
  });

  it.runIf(process.env.CODEQ_EXPECT_NODE_MAJOR)(
    'runs on the major .ci/run asked for, and so does the node children find on PATH',
    () => {
      const expected = Number(process.env.CODEQ_EXPECT_NODE_MAJOR);
      expect(parseVersion(process.version)[0]).toBe(expected);
      const child = spawnSync('node', ['-v'], { encoding: 'utf8' });
      expect(parseVersion(child.stdout)[0]).toBe(expected);
    },
  );
});
