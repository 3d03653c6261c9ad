/**
 * The scripts' includes: every include resolves, and every op position a script names is one the
 * generated layout declares (a misspelt name would otherwise be a nil index, found only at run time).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scriptSource } from '../../src/projections/lua-scripts.js';
import { readyScore } from '../../src/projections/op-layout.js';

const scripts = readdirSync(new URL('../../src/projections/scripts/', import.meta.url)).filter((f) =>
  f.endsWith('.lua'),
);

describe('Lua scripts with their includes', () => {
  it.each(scripts)('%s: includes resolved, op positions declared', (file) => {
    const lua = scriptSource(file);
    expect(lua).not.toMatch(/--- @include/);
    const declared = new Set([...lua.matchAll(/local (OP_[A-Z0-9_]+) = \d+/g)].map((m) => m[1]));
    const used = new Set([...lua.matchAll(/\bOP_[A-Z0-9_]+\b/g)].map((m) => m[0]));
    expect([...used].filter((name) => !declared.has(name))).toEqual([]);
  });

  it('share one ready score, exact for large sequences', () => {
    const withScore = scripts.filter((f) => scriptSource(f).includes('local function readyScore'));
    expect(withScore.sort()).toEqual(['apply.lua', 'release.lua', 'reserve.lua']);
    expect(BigInt(readyScore(2, 2 ** 43 + 7))).toBe(7n * 2n ** 44n + 2n ** 43n + 7n);
  });
});
