/**
 * Latency of the single hops enqueue → handler start is made of, on this machine: a JetStream
 * publish acknowledged by the stream (what every event append waits for), a Redis command round
 * trip, and a core NATS request. Open loop at the given rate for 5 s, on its own servers. It shows
 * the tail each hop has by itself when the machine is shared: codeq's path chains five of them
 * (append, apply, reserve, append, apply), BullMQ's two or three.
 *
 * Usage: `npx tsx bench/hop-latency.ts [ratePerSecond=500]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { LocalServer } from '../src/local/local-servers.js';
import { latencySummary } from './peers/peer.js';

const rate = Number(process.argv[2] ?? 500);
if (!Number.isFinite(rate) || rate <= 0 || rate > 20_000) throw new Error('rate must be 1..20000 per second');
const total = Math.round(rate * 5);
const dir = mkdtempSync(join(tmpdir(), 'codeq-hops-'));
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redisServer = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const nc = await connect({ servers: nats.url, noEcho: true });
const redis = new Redis(redisServer.url);
try {
  await (await jetstreamManager(nc)).streams.add({ name: 'HOPS', subjects: ['hops.>'] });
  const responder = await connect({ servers: nats.url });
  responder.subscribe('hops-echo', {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  await responder.flush();

  const samples = {
    'JetStream publish ack': [] as number[],
    'Redis SET': [] as number[],
    'core NATS request': [] as number[],
  };
  const sentAt = new Map<string, number>();
  const inbox = `_INBOX.hops.${process.pid}`;
  nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg) => {
      const t = sentAt.get(msg.subject);
      if (t !== undefined) void samples['JetStream publish ack'].push(performance.now() - t);
    },
  });
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    while (performance.now() < due) await new Promise((r) => setImmediate(r));
    const t = performance.now();
    const reply = `${inbox}.${i}`;
    sentAt.set(reply, t);
    nc.publish(`hops.${i}`, '{"n":1}', { reply });
    void redis.set(`hops:${i}`, '1').then(() => samples['Redis SET'].push(performance.now() - t));
    void nc.request('hops-echo', 'x').then(() => samples['core NATS request'].push(performance.now() - t));
  }
  await new Promise((r) => setTimeout(r, 500));
  await responder.close();
  for (const [hop, values] of Object.entries(samples)) {
    const { p50, p95, p99 } = latencySummary(values);
    console.log(
      `${rate}/s  ${hop.padEnd(22)} p50 ${p50.toFixed(2)}  p95 ${p95.toFixed(2)}  p99 ${p99.toFixed(2)} ms  (${values.length} samples)`,
    );
  }
} finally {
  await nc.close();
  redis.disconnect();
  await nats.stop();
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
