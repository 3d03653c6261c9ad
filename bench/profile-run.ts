/**
 * Profiling aid for the benchmark's missed targets: one codeq figure on its own servers, with the
 * per-process CPU (node / nats-server / redis-server) per task or event. With
 * `PROFILE_DIR=/tmp/prof npx tsx bench/profile-run.ts <figure> [n]`, a V8 CPU profile of each
 * measurement goes to that directory (`npx tsx bench/cpu-top.ts <file>` summarises one): for
 * rebuild and enqueue the timed part alone, for the process figures with their untimed fill. Figures: process-sdk,
 * process-engine, process-sdk-http, process-http, enqueue, rebuild (admin rebuild, then after a loss).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalServer } from '../src/local/local-servers.js';
import { rebuildAfterLossRate, rebuildRate } from './peers/codeq-backlog.js';
import { CodeqHttpPeer } from './peers/codeq-http.peer.js';
import { CodeqPeer, fillBacklog } from './peers/codeq.peer.js';
import type { Figure } from './peers/peer.js';
import { processCpuUs, selfCpuUs } from './support-cpu.js';

const figure = process.argv[2] ?? 'process-sdk';
const n = Number(process.argv[3] ?? 30_000);
const dir = mkdtempSync(join(tmpdir(), 'codeq-prof-'));
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redis = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const engine = { natsServers: nats.url, redisUrl: redis.url, background: false };
const codeq = new CodeqPeer({ engine, verify: false });
const snap = () => [selfCpuUs(), processCpuUs(nats.pid), processCpuUs(redis.pid)];

const profileDir = process.env.PROFILE_DIR;
const session = new Session();
if (profileDir) {
  mkdirSync(profileDir, { recursive: true });
  session.connect();
  await session.post('Profiler.enable');
}

/** Runs `run`, prints its figure and the CPU µs per unit of each process over `units`. */
async function measure(label: string, units: number, run: () => Promise<Figure>): Promise<void> {
  if (profileDir) await session.post('Profiler.start');
  const before = snap();
  const r = await run();
  const per = snap().map((v, i) => ((v - before[i]!) / units).toFixed(1));
  if (profileDir) {
    const { profile } = await session.post('Profiler.stop');
    const file = join(profileDir, `${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`profile: ${file}`);
  }
  console.log(
    `${label}: ${r.value.toFixed(0)} ${r.unit}; CPU µs per unit: node ${per[0]}, nats ${per[1]}, redis ${per[2]}`,
  );
}

try {
  if (figure === 'process-sdk') {
    const sdk = new CodeqPeer({ engine, via: 'sdk', verify: false });
    await measure('process, SDK in-process (incl. fill)', n, () => sdk.processBacklog(n));
    await sdk.close();
  } else if (figure === 'process-engine') {
    await measure('process, engine loops (incl. fill)', n, () => codeq.processBacklog(n));
  } else if (figure === 'process-sdk-http') {
    await measure('process, SDK over HTTP (incl. fill)', n, () =>
      new CodeqHttpPeer(codeq, { via: 'sdk' }).processBacklog(n),
    );
  } else if (figure === 'process-http') {
    await measure('process, raw HTTP batch loops (incl. fill)', n, () =>
      new CodeqHttpPeer(codeq, { via: 'raw' }).processBacklog(n),
    );
  } else if (figure === 'enqueue') {
    await measure('enqueue batched', n, () => codeq.enqueueBatched(n, 1000));
  } else if (figure === 'rebuild') {
    const e = await codeq.createEngine();
    await fillBacklog(e, n);
    await measure('rebuild', n, () => rebuildRate(e));
    await measure('rebuild after loss', n, () => rebuildAfterLossRate(e));
    await codeq.dispose(e);
  } else {
    throw new Error(`unknown figure ${figure}`);
  }
} finally {
  await codeq.close();
  await nats.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
