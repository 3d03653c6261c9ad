/**
 * Loads the projection's Lua scripts (one file each, in `./scripts`) into a Redis client once.
 * ioredis runs them by EVALSHA and reloads them by itself after a Redis restart (NOSCRIPT).
 *
 * Scripts share code through includes, resolved here when a script is loaded (as BullMQ does): a
 * line `--- @include "name"` becomes the include's text, once per script (a repeat is dropped).
 * An include is `./scripts/includes/<name>.lua`, or one generated from TypeScript (the op layout
 * and the ready score's constants, `op-layout.ts`), so what both sides must agree on is written once.
 */
import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import { constantsLua, opLayoutLua } from './op-layout.js';
import type { RedisClient } from './redis-client.js';

/** Script names, after their files. */
const SCRIPTS = {
  codeqApply: 'apply.lua',
  codeqReserve: 'reserve.lua',
  codeqRelease: 'release.lua',
  codeqPurge: 'purge.lua',
  codeqDeleteIfEqual: 'delete-if-equal.lua',
  codeqSnapshots: 'snapshots.lua',
  codeqCheckpoint: 'checkpoint.lua',
  codeqFlush: 'flush.lua',
  codeqQueueSettings: 'queue-settings.lua',
  codeqOldestReady: 'oldest-ready.lua',
} as const;

/**
 * Scripts that name no key up front: the flush finds its keys by SCAN (a whole-deployment
 * operation, like FLUSHDB). A single Redis only: on a cluster the flush runs node by node from the
 * client (`projection.store.ts`), as a script may not touch keys of several slots there.
 */
const KEYLESS: ReadonlySet<string> = new Set(['codeqFlush']);

/** Name of a projection script command. */
export type ScriptName = keyof typeof SCRIPTS;

/** Includes generated from TypeScript, by name. */
const GENERATED: Readonly<Record<string, () => string>> = {
  'op-layout': opLayoutLua,
  constants: constantsLua,
};

const INCLUDE = /^[ \t]*--- @include "([a-z0-9-]+)"[ \t]*$/gm;

/** `lua` with its includes resolved, recursively; `seen` holds the includes already in the script. */
function resolveIncludes(lua: string, seen: Set<string>, from: string): string {
  return lua.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return `-- (include "${name}" already above)`;
    seen.add(name);
    const generated = GENERATED[name];
    let text: string;
    try {
      text = generated
        ? generated()
        : readFileSync(new URL(`./scripts/includes/${name}.lua`, import.meta.url), 'utf8');
    } catch (err) {
      throw new Error(`${from}: include "${name}" not found`, { cause: err });
    }
    return resolveIncludes(text, seen, from).trimEnd();
  });
}

/**
 * The text of a script file in `./scripts`, includes resolved (exported for tests and benchmarks).
 *
 * @param file - the script's file name, e.g. `apply.lua`
 */
export function scriptSource(file: string): string {
  const lua = readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8');
  return resolveIncludes(lua, new Set(), file);
}

const sources = new Map<ScriptName, string>();
function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = scriptSource(SCRIPTS[name]);
    sources.set(name, lua);
  }
  return lua;
}

/** A Redis client (or pipeline) with the projection's scripts as commands. */
export type ScriptCommands = {
  [K in ScriptName]: (key: string, ...args: (string | number)[]) => Promise<unknown>;
};

/** Defines every script as a command on `redis` (idempotent per client). */
export function defineScripts<C extends RedisClient>(redis: C): C & ScriptCommands {
  const marked = redis as C & { codeqScriptsDefined?: boolean };
  if (!marked.codeqScriptsDefined) {
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      redis.defineCommand(name, { numberOfKeys: KEYLESS.has(name) ? 0 : 1, lua: source(name) });
    }
    marked.codeqScriptsDefined = true;
  }
  return redis as C & ScriptCommands;
}

/** Views a pipeline of a client prepared by {@link defineScripts} with the script commands. */
export function scriptPipeline(pipeline: ChainableCommander): ChainableCommander & {
  [K in ScriptName]: (key: string, ...args: (string | number)[]) => ChainableCommander;
} {
  return pipeline as ChainableCommander & {
    [K in ScriptName]: (key: string, ...args: (string | number)[]) => ChainableCommander;
  };
}
