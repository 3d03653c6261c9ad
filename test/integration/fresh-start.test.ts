/**
 * The README's first command on a machine with nothing configured: `npm start` launches its own
 * nats-server and redis-server on free ports (data in a temp dir), answers /healthz, serves the
 * dashboard at the printed `/ui/` address, and stops cleanly on SIGTERM, children included. A second start on the same data dir keeps the tasks.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import { alive, gone, npmStart, type NpmStarted } from '../support/npm-start.js';

const dataDir = mkdtempSync(join(tmpdir(), 'codeq-fresh-'));
const running: ChildProcess[] = [];

/** `npm start` on this file's data dir. */
async function start(): Promise<NpmStarted> {
  const started = await npmStart(dataDir);
  running.push(started.child);
  return started;
}

afterAll(() => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('fresh start (npm start)', () => {
  let taskId = '';

  it('comes up on its own NATS and Redis in dev mode and answers /healthz', async () => {
    const s = await start();
    expect(s.output()).toMatch(/DEV MODE/);
    expect(s.output()).toMatch(/dev-producer-token/);
    expect(alive(s.natsPid) && alive(s.redisPid)).toBe(true);
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    // The banner's dashboard address serves the built front-end, and the dev admin token signs in.
    const printed = /Dashboard: (\S+\/ui\/)(.*)/.exec(s.output());
    expect(printed?.[1]).toBe(`${s.url}/ui/`);
    expect(printed?.[2]).not.toMatch(/not built/);
    const page = await fetch(printed![1]!);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module"[^>]* src="\.\/assets\//);
    const session = await fetch(`${s.url}/ui/api/session`, {
      headers: { authorization: 'Bearer dev-admin-token' },
    });
    expect(await session.json()).toMatchObject({ role: 'admin', canAct: true });

    const client = new CodeqHttpClient({ baseUrl: s.url, tokens: { default: 'dev-producer-token' } });
    taskId = (await client.createTask({ command: 'FRESH', payload: { hello: 'world' } })).id;

    process.kill(s.serverPid, 'SIGTERM');
    expect(await s.exited).toBe(0);
    expect(await gone(s.serverPid)).toBe(true);
    expect(await gone(s.natsPid)).toBe(true);
    expect(await gone(s.redisPid)).toBe(true);
    expect(s.output()).toMatch(/codeq: stopped/);
  });

  it('starts again on the same data dir with the tasks kept', async () => {
    expect(taskId).not.toBe('');
    const s = await start();
    const client = new CodeqHttpClient({ baseUrl: s.url, tokens: { default: 'dev-producer-token' } });
    const task = await client.getTask(taskId);
    expect(task).toMatchObject({ id: taskId, status: 'PENDING', payload: { hello: 'world' } });
    process.kill(s.serverPid, 'SIGTERM');
    expect(await s.exited).toBe(0);
    expect(await gone(s.natsPid)).toBe(true);
    expect(await gone(s.redisPid)).toBe(true);
  });
});
