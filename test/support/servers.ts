/**
 * Per-test servers for fault tests: a private nats-server and redis-server that a test may stop,
 * kill -9 and restart on the same port and data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalServer } from '../../src/local/local-servers.js';

/** A private pair of servers and their temp directory. */
export interface TestServers {
  nats: LocalServer;
  redis: LocalServer;
  /** Stops both servers and removes their data. */
  close(): Promise<void>;
}

/** Starts a private nats-server and redis-server (Redis without persistence unless asked). */
export async function startServers(options: { redisAppendOnly?: boolean } = {}): Promise<TestServers> {
  const dir = mkdtempSync(join(tmpdir(), 'codeq-fault-'));
  const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
  const redis = await new LocalServer({
    kind: 'redis',
    dataDir: join(dir, 'redis'),
    redisAppendOnly: options.redisAppendOnly ?? false,
  }).start();
  return {
    nats,
    redis,
    async close() {
      await Promise.all([nats.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A name unique to this test run, safe as a stream name, subject token and command. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toUpperCase();
}
