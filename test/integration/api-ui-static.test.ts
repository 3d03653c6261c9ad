/**
 * The dashboard's static files at `/ui/` (real HTTP; the engine is real but unused): the page with
 * its security headers, `/ui` redirected, assets typed, nothing outside the build's directory, 503
 * when the build is missing, 404 when `uiEnabled` is off.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, closeServer, type CodeqServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';

describe('GET /ui/', () => {
  const deployment = testDeployment();
  const dir = mkdtempSync(join(tmpdir(), 'codeq-ui-'));
  const build = join(dir, 'dist-ui');
  let engine: Engine;
  const servers: CodeqServer[] = [];

  /** A server with `env` as config and `uiDir` as the build; answers its root URL. */
  async function serve(env: Record<string, string>, uiDir: string): Promise<string> {
    const config = loadConfig({ env: { DEV_MODE: 'true', LOG_LEVEL: 'silent', ...env } });
    const app = buildServer({
      engine,
      config,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
      uiDir,
    });
    servers.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    mkdirSync(join(build, 'assets'), { recursive: true });
    writeFileSync(
      join(build, 'index.html'),
      '<!doctype html><title>codeq</title><script src="./assets/app-1.js"></script>',
    );
    writeFileSync(join(build, 'assets', 'app-1.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside');
    engine = await Engine.create(
      engineOptions(deployment, { settings: toEngineSettings(loadConfig({ env: {} })) }),
    );
  });
  afterAll(async () => {
    for (const app of servers) await closeServer(app);
    await engine?.close();
    await dropDeployment(deployment);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its assets with the security headers; nothing outside the build', async () => {
    const root = await serve({}, build);
    const page = await fetch(`${root}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<title>codeq</title>');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const asset = await fetch(`${root}/ui/assets/app-1.js`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const redirect = await fetch(`${root}/ui`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, 'ui/']);
    for (const path of ['/ui/../secret.txt', '/ui/%2e%2e/secret.txt', '/ui/..%2fsecret.txt', '/ui/nope.js']) {
      const res = await fetch(`${root}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    // A link in the build's directory to a file outside it is not followed out.
    symlinkSync(join(dir, 'secret.txt'), join(build, 'linked.txt'));
    expect((await fetch(`${root}/ui/linked.txt`)).status).toBe(404);
    // The session route beside it is the API's, not a file.
    expect((await fetch(`${root}/ui/api/session`)).status).toBe(401);
  });

  it('503 when the build is missing; 404 when uiEnabled is off', async () => {
    const unbuilt = await fetch(`${await serve({}, join(dir, 'missing'))}/ui/`);
    expect(unbuilt.status).toBe(503);
    expect(((await unbuilt.json()) as { error: string }).error).toContain('npm run build');
    const off = await serve({ CODEQ_UI_ENABLED: 'false' }, build);
    expect((await fetch(`${off}/ui/`)).status).toBe(404);
    expect((await fetch(`${off}/ui`)).status).toBe(404);
  });
});
