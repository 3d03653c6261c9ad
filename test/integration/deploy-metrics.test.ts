/**
 * The operations kit in `deploy/` against a real server: every metric name its Grafana dashboard
 * and Prometheus rules use is one `/metrics` exposes (histograms with their `_bucket`, `_sum` and
 * `_count` series), the scrape-time gauges report a ready backlog's age and the projection lag, and
 * `/metrics` asks for `metricsToken` when one is configured (and stays open otherwise).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildServer, closeServer, type CodeqServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createMetrics, engineObserver } from '../../src/metrics/metrics.js';
import { createTestEngine } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = JSON.stringify([{ token: 'admin-token', role: 'admin', subject: 'a' }]);
const METRICS_TOKEN = 'scrape-token-0123456789';

/** Every file under `deploy/`, relative to the repository. */
function deployFiles(dir = 'deploy'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? deployFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Metric families of a Prometheus text exposition, by name, with their type. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('deploy/ against a real server', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  const servers: CodeqServer[] = [];
  beforeAll(async () => {
    const metrics = createMetrics();
    ({ engine, close } = await createTestEngine({ observer: engineObserver(metrics) }));
    servers.push(server({ TOKENS }, metrics), server({ TOKENS, METRICS_TOKEN }));
    for (const app of servers) await app.ready();
  });
  afterAll(async () => {
    for (const app of servers) await closeServer(app);
    await close();
  });

  function server(env: Record<string, string>, metrics = createMetrics()): CodeqServer {
    const config = loadConfig({ env });
    return buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics });
  }

  const scrape = (app: CodeqServer, authorization?: string) =>
    app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });

  it('uses only metric names the server exposes, in files that parse', async () => {
    const text = (await scrape(servers[0]!)).body;
    const exposed = families(text);
    const files = deployFiles();
    expect(files).toEqual(
      expect.arrayContaining(['deploy/grafana/codeq-dashboard.json', 'deploy/prometheus/codeq-alerts.yml']),
    );
    const used = new Set<string>();
    for (const file of files) {
      const content = readFileSync(file, 'utf8');
      if (file.endsWith('.json')) JSON.parse(content);
      if (file.endsWith('.yml')) parseYaml(content);
      for (const m of content.matchAll(/\bcodeq_[a-z0-9_]+/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThan(10);
    const unknown = [...used].filter((name) => {
      if (exposed.has(name)) return false;
      const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
      return !(base && exposed.get(base) === 'histogram');
    });
    expect(unknown).toEqual([]);
    // What the rules alert on is among what they use.
    for (const name of [
      'codeq_queue_depth',
      'codeq_queue_oldest_ready_age_seconds',
      'codeq_tasks_dead_lettered_total',
      'codeq_projector_lag',
      'codeq_webhook_deliveries_total',
    ]) {
      expect(used).toContain(name);
    }
  });

  it('reports the age of a ready backlog and the projection lag at scrape time', async () => {
    const command = uniqueName('AGED');
    await engine.enqueue({ command, payload: {} });
    const text = (await scrape(servers[0]!)).body;
    expect(text).toMatch(new RegExp(`^codeq_queue_depth\\{command="${command}",state="ready"\\} 1$`, 'm'));
    expect(text).toMatch(
      new RegExp(`^codeq_queue_oldest_ready_age_seconds\\{command="${command}"\\} \\d+(\\.\\d+)?$`, 'm'),
    );
    expect(text).toMatch(/^codeq_projector_lag \d+$/m);
    // A command with nothing ready has no age series.
    await engine.claim({ workerId: 'w', commands: [command], waitSeconds: 0 });
    const after = (await scrape(servers[0]!)).body;
    expect(after).not.toContain(`codeq_queue_oldest_ready_age_seconds{command="${command}"}`);
  });

  it('is open without metricsToken, and asks for it as a bearer token when configured', async () => {
    expect((await scrape(servers[0]!)).statusCode).toBe(200);
    const guarded = servers[1]!;
    const refused = await scrape(guarded);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({ error: 'unauthorized' });
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await scrape(guarded, 'Bearer wrong-token-0123456789')).statusCode).toBe(401);
    expect((await scrape(guarded, 'Bearer admin-token')).statusCode).toBe(401); // API tokens do not open it
    expect((await scrape(guarded, METRICS_TOKEN)).statusCode).toBe(401); // the scheme is required
    const ok = await scrape(guarded, `Bearer ${METRICS_TOKEN}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('# TYPE codeq_queue_depth gauge');
  });
});
