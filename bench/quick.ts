// Quick local probe: one round of each peer on shared local servers (development aid, not the report).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalServer } from '../src/local/local-servers.js';
import { BullmqPeer } from './peers/bullmq.peer.js';
import { CodeqPeer } from './peers/codeq.peer.js';

const dir = mkdtempSync(join(tmpdir(), 'codeq-bench-'));
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redis = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const n = Number(process.argv[2] ?? 20000);
const codeq = new CodeqPeer({ engine: { natsServers: nats.url, redisUrl: redis.url, background: false } });
const bull = new BullmqPeer(redis.url);
for (const peer of [codeq, bull]) {
  console.log(peer.name, 'enqueueBatched', (await peer.enqueueBatched(n, 1000)).value.toFixed(0));
  console.log(peer.name, 'processBacklog', (await peer.processBacklog(n)).value.toFixed(0));
}
await nats.stop();
await redis.stop();
