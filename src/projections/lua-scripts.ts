/**
 * Loads the projection's Lua scripts (one file each, in `./scripts`) into a Redis client once.
 * ioredis runs them by EVALSHA and reloads them by itself after a Redis restart (NOSCRIPT).
 */
import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
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
} as const;

/**
 * Scripts that name no key up front: the flush finds its keys by SCAN (a whole-deployment
 * operation, like FLUSHDB). A single Redis only: on a cluster the flush runs node by node from the
 * client (`projection.store.ts`), as a script may not touch keys of several slots there.
 */
const KEYLESS: ReadonlySet<string> = new Set(['codeqFlush']);

/** Name of a projection script command. */
export type ScriptName = keyof typeof SCRIPTS;

const sources = new Map<ScriptName, string>();
function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = readFileSync(new URL(`./scripts/${SCRIPTS[name]}`, import.meta.url), 'utf8');
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
