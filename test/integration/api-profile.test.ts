/**
 * Admin profiling of a running server: a CPU or heap profile over N seconds, admins only, one at a
 * time, ended early by shutdown.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, closeServer, type CodeqServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createTestEngine } from '../support/engine.js';

const TOKENS = [
  { token: 'admin-token', role: 'admin', subject: 'admin-1' },
  { token: 'worker-token', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
];

describe('GET /v1/codeq/admin/profile/{cpu,heap}', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  let app: CodeqServer;
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine());
    const config = loadConfig({ env: { TOKENS: JSON.stringify(TOKENS) } });
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.ready();
  });
  afterAll(async () => {
    await closeServer(app);
    await close();
  });

  const get = (url: string, token = 'admin-token') =>
    app.inject({ method: 'GET', url: `/v1/codeq${url}`, headers: { authorization: `Bearer ${token}` } });

  it('captures a CPU profile over the requested seconds, as DevTools JSON', async () => {
    const started = Date.now();
    const [res] = await Promise.all([
      get('/admin/profile/cpu?seconds=1'),
      // Work that the profile should see.
      engine.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ command: 'PROFILED', payload: { i } }))),
    ]);
    expect(res.statusCode).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="codeq-.*\.cpuprofile"/);
    const profile = res.json() as { nodes: unknown[]; samples: number[]; startTime: number; endTime: number };
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(900_000); // µs
  });

  it('captures a sampled heap profile', async () => {
    const [res] = await Promise.all([
      get('/admin/profile/heap?seconds=1'),
      // Two calls of 1,000 (the batch limit): allocations for the sampler to see.
      ...[0, 1].map((k) =>
        engine.enqueueMany(
          Array.from({ length: 1000 }, (_, i) => ({ command: 'PROFILED', payload: { k, i } })),
        ),
      ),
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/\.heapprofile"/);
    expect((res.json() as { head: { children: unknown[] } }).head.children.length).toBeGreaterThan(0);
  });

  it('is for admins only, validates seconds, and runs one capture at a time', async () => {
    expect((await get('/admin/profile/cpu?seconds=1', 'worker-token')).statusCode).toBe(401); // codeQ: `unauthorized. Admin only`
    expect((await get('/admin/profile/cpu?seconds=1', 'nope')).statusCode).toBe(401);
    expect((await get('/admin/profile/cpu?seconds=0')).statusCode).toBe(400);
    expect((await get('/admin/profile/cpu?seconds=999')).statusCode).toBe(400);
    const first = get('/admin/profile/cpu?seconds=1');
    await new Promise((r) => setTimeout(r, 100));
    const second = await get('/admin/profile/heap?seconds=1');
    expect(second.statusCode).toBe(409);
    expect(second.json()).toEqual({ error: 'a profile is already being captured' });
    expect((await first).statusCode).toBe(200);
  });
});
