/**
 * Keyed against unkeyed batched enqueue on one engine, alternating rounds in one invocation: what an
 * idempotency key costs (the SDK's Producer keys every task by default). Prints tasks/s of each and
 * the keyed/unkeyed ratio (median over rounds).
 *
 *   npx tsx bench/keyed-enqueue.ts [tasks per round = 20000] [rounds = 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Engine } from '../src/engine/engine.js';
import { LocalServer } from '../src/local/local-servers.js';

const n = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
const BATCH = 1000;
const dir = mkdtempSync(join(tmpdir(), 'codeq-bench-keyed-'));
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redis = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const engine = await Engine.create({ natsServers: nats.url, redisUrl: redis.url, background: false });

async function round(keyed: boolean): Promise<number> {
  const run = randomUUID();
  const started = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    await engine.enqueueMany(
      Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({
        command: keyed ? 'KEYED' : 'PLAIN',
        payload: { i: i + j },
        ...(keyed ? { idempotencyKey: `${run}-${i + j}` } : {}),
      })),
    );
  }
  return n / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const plain: number[] = [];
const keyed: number[] = [];
const ratios: number[] = [];
await round(false); // warm-up
for (let r = 0; r < rounds; r++) {
  const p = await round(false);
  const k = await round(true);
  plain.push(p);
  keyed.push(k);
  ratios.push(k / p);
  console.log(
    `round ${r + 1}: unkeyed ${p.toFixed(0)}/s, keyed ${k.toFixed(0)}/s, ratio ${(k / p).toFixed(2)}`,
  );
}
console.log(
  `median: unkeyed ${median(plain).toFixed(0)}/s, keyed ${median(keyed).toFixed(0)}/s, keyed/unkeyed ${median(ratios).toFixed(2)}`,
);
await engine.close();
await Promise.all([nats.stop(), redis.stop()]);
rmSync(dir, { recursive: true, force: true });
