// Profiling aid: codeq only (enqueue + process), run under `node --cpu-prof --import tsx`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalServer } from '../src/local/local-servers.js';
import { CodeqPeer } from './peers/codeq.peer.js';
import { processCpuUs, selfCpuUs } from './support-cpu.js';

const dir = mkdtempSync(join(tmpdir(), 'codeq-prof-'));
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redis = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const n = Number(process.argv[2] ?? 30000);
const codeq = new CodeqPeer({ engine: { natsServers: nats.url, redisUrl: redis.url, background: false } });
const snap = () => [selfCpuUs(), processCpuUs(nats.pid), processCpuUs(redis.pid)];
async function measure(label: string, run: () => Promise<{ value: number }>) {
  const before = snap();
  const r = await run();
  const after = snap();
  const per = after.map((v, i) => ((v - before[i]!) / n).toFixed(1));
  console.log(label, r.value.toFixed(0), '/s   µs per task: node', per[0], 'nats', per[1], 'redis', per[2]);
}
await measure('enqueueBatched', () => codeq.enqueueBatched(n, 1000));
await measure('processBacklog (incl. untimed enqueue)', () => codeq.processBacklog(n));
await nats.stop();
await redis.stop();
