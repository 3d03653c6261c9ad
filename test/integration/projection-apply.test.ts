/**
 * apply.lua's failure path: Redis does not roll a script back, so when an op fails halfway the ops
 * before it stay applied; their deferred index writes must still go out, or those tasks would sit
 * in no index while their version says they were applied.
 */
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectionKeys } from '../../src/projections/keys.js';
import { defineScripts, type ScriptCommands } from '../../src/projections/lua-scripts.js';
import { uniqueName } from '../support/servers.js';

describe('apply.lua when an op fails halfway', () => {
  let redis: Redis & ScriptCommands;
  const keys = new ProjectionKeys(`k_${uniqueName('APPLY').toLowerCase()}`);

  beforeAll(() => {
    redis = defineScripts(new Redis(inject('redisUrl')));
  });

  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length > 0) await redis.del(...found);
    redis.disconnect();
  });

  it('keeps the index entries of the ops applied before the failure', async () => {
    const now = Date.now();
    const enqueued = (id: string, seq: number, runAt: string | null) => [
      id,
      String(seq),
      'E',
      String(now),
      '0',
      '3',
      '{}',
      runAt,
      null,
      null,
      String(9 * 2 ** 44 + seq),
    ];
    // The second op's due time is not a number: the script fails on it, after applying the first.
    const ops = JSON.stringify([enqueued('ok', 1, null), enqueued('bad', 2, 'not-a-time')]);
    await expect(redis.codeqApply(keys.commandBase('c'), now, 0, ops)).rejects.toThrow();
    expect(await redis.hget(keys.task('c', 'ok'), 'v')).toBe('1');
    expect(await redis.zrange(keys.ready('c'), '0', '-1')).toEqual(['ok']);
    expect(await redis.zscore(keys.age('c'), 'ok')).toBe(String(now));
  });
});
