/**
 * Where Redis spends its time applying one `enqueued` event (the rebuild's and the batched
 * enqueue's unit of work): the apply script's steps are run cumulatively as separate scripts over
 * 100,000 events in calls of 1,000, and redis-server's CPU per event is read from /proc after each.
 * Also the plain pipelined `HSET` and the `MSET` of the id index, for comparison.
 *
 * Usage: `npx tsx bench/redis-apply-cost.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LocalServer } from '../src/local/local-servers.js';
import { processCpuUs } from './support-cpu.js';

const EVENTS = 100_000;
const BATCH = 1_000;
const dir = mkdtempSync(join(tmpdir(), 'codeq-apply-cost-'));
const server = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const redis = new Redis(server.url);

// The ops apply.lua receives for new tasks: [id, seq, 'E', at, priority, maxAttempts, payload, ...].
const ops = Array.from({ length: EVENTS }, (_, i) => [
  `01JAAAAAAAAAAAAAAAAA${String(i).padStart(6, '0')}`,
  i + 1,
  'E',
  1_763_800_000_000 + i,
  5,
  5,
  '{"i":1,"hello":"world"}',
  null,
  null,
  null,
]);
const args: string[] = [];
for (let i = 0; i < EVENTS; i += BATCH) args.push(JSON.stringify(ops.slice(i, i + BATCH)));

const LOOP = `local ops = cjson.decode(ARGV[1]) for _, op in ipairs(ops) do local key = KEYS[1] .. 't:' .. op[1] `;
const HMGET = `redis.call('HMGET', key, 'v', 's', 'p', 'r') `;
const HSET = `redis.call('HSET', key, 'v', op[2], 's', 'pending', 'a', 0, 'm', op[6], 'p', op[5], 'rs', op[2], 'pl', op[7], 'ca', op[4], 'ua', op[4], 'oa', op[4]) `;
const AGE = `redis.call('ZADD', KEYS[1] .. 'age', op[4], op[1]) `;
const READY = `redis.call('ZADD', KEYS[1] .. 'ready', 4 * 17592186044416 + op[2], op[1]) `;
const steps: [string, string][] = [
  ['cjson.decode + loop + key', `${LOOP}end return 1`],
  ['+ HMGET (version, state)', `${LOOP}${HMGET}end return 1`],
  ['+ HSET (10 fields)', `${LOOP}${HMGET}${HSET}end return 1`],
  ['+ ZADD age', `${LOOP}${HMGET}${HSET}${AGE}end return 1`],
  ['+ ZADD ready (= apply of E)', `${LOOP}${HMGET}${HSET}${AGE}${READY}end return 1`],
];

const perEvent = async (run: () => Promise<void>): Promise<string> => {
  await redis.flushall();
  const before = processCpuUs(server.pid);
  await run();
  return ((processCpuUs(server.pid) - before) / EVENTS).toFixed(2);
};

try {
  for (const [label, lua] of steps) {
    const us = await perEvent(async () => {
      for (const a of args) await redis.eval(lua, 1, 'x:{bench}:', a);
    });
    console.log(`${label.padEnd(30)} ${us} µs/event`);
  }
  const hset = await perEvent(async () => {
    for (let i = 0; i < EVENTS; i += BATCH) {
      const p = redis.pipeline();
      for (const op of ops.slice(i, i + BATCH)) {
        const at = op[3] as number;
        p.hset(`x:{bench}:t:${op[0]}`, 'v', op[1] as number, 's', 'pending', 'a', 0, 'm', 5, 'p', 5);
        p.hset(
          `x:{bench}:t:${op[0]}`,
          'rs',
          op[1] as number,
          'pl',
          op[6] as string,
          'ca',
          at,
          'ua',
          at,
          'oa',
          at,
        );
      }
      await p.exec();
    }
  });
  console.log(`${'plain pipelined HSET (10)'.padEnd(30)} ${hset} µs/event`);
  const mset = await perEvent(async () => {
    for (let i = 0; i < EVENTS; i += BATCH) {
      await redis.mset(...ops.slice(i, i + BATCH).flatMap((op) => [`x:id:${op[0]}`, 'bench']));
    }
  });
  console.log(`${'MSET id index'.padEnd(30)} ${mset} µs/event`);
} finally {
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
