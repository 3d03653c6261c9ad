/**
 * Starts one nats-server (JetStream) and one redis-server on free loopback ports for the
 * integration project and hands their URLs to tests via `inject('natsUrl' | 'redisUrl')`.
 * Tests that kill or restart servers start their own with `startServers()` instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { LocalServer } from '../../src/local/local-servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'codeq-it-'));
  const log = (line: string) => console.log(`[global-setup] ${line}`);
  const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats'), log }).start();
  const redis = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis'), log }).start();
  project.provide('natsUrl', nats.url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await Promise.all([nats.stop(), redis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
