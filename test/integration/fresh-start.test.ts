/**
 * The README's first command on a machine with nothing configured: `npm start` launches its own
 * nats-server and redis-server on free ports (data in a temp dir), answers /healthz, and stops
 * cleanly on SIGTERM, children included. A second start on the same data dir keeps the tasks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeqHttpClient } from '../../src/client/http-client.js';

interface Started {
  child: ChildProcess;
  url: string;
  serverPid: number;
  natsPid: number;
  redisPid: number;
  output: () => string;
  exited: Promise<number | null>;
}

const dataDir = mkdtempSync(join(tmpdir(), 'codeq-fresh-'));
const running: ChildProcess[] = [];

/** `npm start` with no NATS/Redis/auth settings; PORT=0 and DATA_DIR keep it off shared resources. */
async function npmStart(): Promise<Started> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  for (const k of ['NATS_URL', 'REDIS_URL', 'CODEQ_CONFIG', 'TOKENS', 'DEV_MODE', 'HOST']) delete env[k];
  const child = spawn('npm', ['start'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 45_000;
  for (;;) {
    const m = /codeq listening on (\S+) \(pid (\d+)\)/.exec(out);
    if (m && /Redis:.*\n/.test(out)) {
      const pids = [...out.matchAll(/local (?:nats|redis)-server \(pid (\d+)/g)].map((x) => Number(x[1]));
      return {
        child,
        url: m[1]!,
        serverPid: Number(m[2]),
        natsPid: pids[0]!,
        redisPid: pids[1]!,
        output: () => out,
        exited,
      };
    }
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

afterAll(() => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('fresh start (npm start)', () => {
  let taskId = '';

  it('comes up on its own NATS and Redis in dev mode and answers /healthz', async () => {
    const s = await npmStart();
    expect(s.output()).toMatch(/DEV MODE/);
    expect(s.output()).toMatch(/dev-producer-token/);
    expect(alive(s.natsPid) && alive(s.redisPid)).toBe(true);
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

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
    const s = await npmStart();
    const client = new CodeqHttpClient({ baseUrl: s.url, tokens: { default: 'dev-producer-token' } });
    const task = await client.getTask(taskId);
    expect(task).toMatchObject({ id: taskId, status: 'PENDING', payload: { hello: 'world' } });
    process.kill(s.serverPid, 'SIGTERM');
    expect(await s.exited).toBe(0);
    expect(await gone(s.natsPid)).toBe(true);
    expect(await gone(s.redisPid)).toBe(true);
  });
});
