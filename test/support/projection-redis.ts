/**
 * A client of a test Redis with the projection's scripts, and key names private to the test file;
 * its keys are deleted after the file's tests. The Redis is the integration project's shared one,
 * or, for a unit test, a private redis-server the file starts ({@link usePrivateRedis}).
 */
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { LocalServer } from '../../src/local/local-servers.js';
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

/**
 * Registers the file's `beforeAll`/`afterAll` hooks; `name` becomes part of the key prefix.
 * `redisUrl` is read in `beforeAll`; default the integration project's shared Redis.
 */
export function useProjectionRedis(
  name: string,
  redisUrl: () => string = () => inject('redisUrl'),
): ProjectionRedis {
  const keys = new ProjectionKeys(`k_${uniqueName(name).toLowerCase()}`);
  let client: (Redis & ScriptCommands) | undefined;
  beforeAll(() => {
    client = defineScripts(new Redis(redisUrl()));
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

/**
 * Starts a private redis-server (no persistence) for the file's tests, so a unit test that needs
 * the real Lua of the projection runs without the integration project's servers. Registers
 * `beforeAll`/`afterAll`; call it before {@link useProjectionRedis} so the server starts first.
 */
export function usePrivateRedis(): () => string {
  const dir = mkdtempSync(join(tmpdir(), 'codeq-unit-redis-'));
  let server: LocalServer | undefined;
  beforeAll(async () => {
    server = await new LocalServer({ kind: 'redis', dataDir: dir, redisAppendOnly: false }).start();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!server) throw new Error('usePrivateRedis: the server exists from beforeAll on');
    return server.url;
  };
}
