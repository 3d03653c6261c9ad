/**
 * A client of the shared test Redis with the projection's scripts, and key names private to the
 * test file; its keys are deleted after the file's tests.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { ProjectionKeys } from '../../src/projections/keys.js';
import { defineScripts, type ScriptCommands } from '../../src/projections/lua-scripts.js';
import { uniqueName } from './servers.js';

/** What {@link useProjectionRedis} gives a test file. */
export interface ProjectionRedis {
  /** Key names under a prefix unique to the file. */
  keys: ProjectionKeys;
  /** The client (set in `beforeAll`). */
  redis(): Redis & ScriptCommands;
}

/** Registers the file's `beforeAll`/`afterAll` hooks; `name` becomes part of the key prefix. */
export function useProjectionRedis(name: string): ProjectionRedis {
  const keys = new ProjectionKeys(`k_${uniqueName(name).toLowerCase()}`);
  let client: (Redis & ScriptCommands) | undefined;
  beforeAll(() => {
    client = defineScripts(new Redis(inject('redisUrl')));
  });
  afterAll(async () => {
    if (!client) return;
    const found = await client.keys(`${keys.prefix}:*`);
    if (found.length > 0) await client.del(...found);
    client.disconnect();
  });
  return {
    keys,
    redis: () => {
      if (!client) throw new Error('useProjectionRedis: the client exists from beforeAll on');
      return client;
    },
  };
}
