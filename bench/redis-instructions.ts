/**
 * Redis's work per task, counted in instructions: redis-server runs under valgrind's callgrind
 * (which counts instructions executed, the same for the same work whatever else the machine is
 * doing), codeq enqueues `n` tasks in calls of 1,000 and processes them with the benchmark's engine
 * claim loops (16 × 128, one result call per batch), and the instructions of each phase are divided
 * by `n`. Also the Redis commands per task of each phase (`INFO commandstats`, which counts the
 * commands scripts call too). On a shared, noisy machine this is the figure that tells whether a
 * change made Redis's share cheaper; time it with `npm run bench`.
 *
 * Usage: `npx tsx bench/redis-instructions.ts [n=5000]` (needs valgrind; ~1 minute).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureBinary, freePort, LocalServer } from '../src/local/local-servers.js';
import { claimLoops, CodeqPeer, fillBacklog } from './peers/codeq.peer.js';

const n = Number(process.argv[2] ?? 5000);
if (!Number.isInteger(n) || n < 1000 || n > 200_000) throw new Error('n must be an integer in 1000..200000');
if (spawnSync('sh', ['-c', 'command -v valgrind callgrind_control']).status !== 0) {
  throw new Error('valgrind is not installed (Debian package valgrind)');
}

const dir = mkdtempSync(join(tmpdir(), 'codeq-redis-ir-'));
const port = await freePort();
const redisBin = ensureBinary('redis-server');
const valgrind = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    `--callgrind-out-file=${join(dir, 'cg.out')}`,
    redisBin,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ],
  { stdio: 'ignore' },
);
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redis = new Redis({ port, host: '127.0.0.1', retryStrategy: (times) => (times > 100 ? null : 200) });
redis.on('error', () => undefined); // refused until redis-server is up under valgrind
await redis.ping();

/** Instructions redis-server executed so far (callgrind writes one dump per request). */
function instructions(): number {
  execFileSync('callgrind_control', ['-d', String(valgrind.pid)], { stdio: 'ignore' });
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.startsWith('cg.out'))) {
    const line = readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('summary:') || l.startsWith('totals:'));
    total += Number(line?.split(' ')[1] ?? 0);
  }
  return total;
}

/** Calls per command name so far. */
async function commandCalls(): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

const perTask = (a: Map<string, number>, b: Map<string, number>): string =>
  [...b]
    .map(([name, calls]) => [name, (calls - (a.get(name) ?? 0)) / n] as const)
    .filter(([name, per]) => per >= 0.001 && name !== 'info')
    .sort((x, y) => y[1] - x[1])
    .map(([name, per]) => `${name} ${per.toFixed(3)}`)
    .join(', ');

const peer = new CodeqPeer({
  engine: { natsServers: nats.url, redisUrl: `redis://127.0.0.1:${port}`, background: false },
  verify: false,
});
try {
  const engine = await peer.createEngine();
  // Warm-up (script loading, first keys), not counted.
  await fillBacklog(engine, 500);
  await claimLoops(engine, 500, 4, 128, () => ['noop']);
  const [i0, c0] = [instructions(), await commandCalls()];
  await fillBacklog(engine, n);
  const [i1, c1] = [instructions(), await commandCalls()];
  await claimLoops(engine, n, 16, 128, () => ['noop']);
  const [i2, c2] = [instructions(), await commandCalls()];
  console.log(`redis-server instructions per task (n = ${n}, callgrind):`);
  console.log(`  enqueue (batches of 1,000): ${((i1 - i0) / n / 1000).toFixed(1)}k`);
  console.log(`  process (16 claim loops x 128, claim + complete): ${((i2 - i1) / n / 1000).toFixed(1)}k`);
  console.log(`Redis commands per task (scripts' inner calls included):`);
  console.log(`  enqueue: ${perTask(c0, c1)}`);
  console.log(`  process: ${perTask(c1, c2)}`);
  await peer.dispose(engine);
} finally {
  await peer.close();
  redis.disconnect();
  await nats.stop();
  valgrind.kill('SIGTERM');
  await new Promise((resolve) => valgrind.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
