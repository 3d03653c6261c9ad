/**
 * Schedules over HTTP (`/v1/codeq/admin/schedules`) through the typed client, and the `codeq
 * schedule` CLI as users run it (the built `bin`): define, read, change, pause, resume, run now,
 * history, delete; admin only, an admin limited to some commands sees only their schedules; bad
 * input is a 400 that writes nothing; the routes are in the OpenAPI document.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import type { Engine } from '../../src/engine/engine.js';
import { createTestEngine } from '../support/engine.js';
import { listenTestApi } from '../support/api-server.js';
import { BUILD_TIMEOUT_MS, CLI_BIN, ensureBuilt } from '../support/build.js';
import { rejection, sleep } from '../support/assertions.js';
import { uniqueName } from '../support/servers.js';

const ALLOWED = 'sched-allowed';
const TOKENS = [
  { token: 'admin-all', role: 'admin', subject: 'alice' },
  { token: 'admin-only', role: 'admin', subject: 'bob', eventTypes: [ALLOWED] },
  { token: 'producer', role: 'producer', subject: 'p' },
];

let engine: Engine;
let closeEngine: () => Promise<void>;
let app: Awaited<ReturnType<typeof listenTestApi>>['app'];
let base: string;
let admin: CodeqHttpClient;

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

beforeAll(async () => {
  const made = await createTestEngine({ background: true, settings: { sweepIntervalMs: 200 } });
  engine = made.engine;
  closeEngine = made.close;
  ({ app, base } = await listenTestApi(engine, TOKENS));
  admin = new CodeqHttpClient({ baseUrl: base, tokens: { default: 'admin-all' } });
});

afterAll(async () => {
  await app?.close();
  await closeEngine?.();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_BIN, 'schedule', ...args], {
      env: { ...process.env, CODEQ_BASE_URL: base, CODEQ_ADMIN_TOKEN: 'admin-all' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('schedules over HTTP', () => {
  it('define, get, list, update, pause, run now, resume, history, delete', async () => {
    const name = uniqueName('http');
    const command = uniqueName('cmd');
    const created = await admin.schedules.define({
      name,
      command,
      cron: '0 0 9 * * 1-5',
      timezone: 'Europe/Paris',
      payload: { report: 'weekday' },
      startAt: '2026-01-01T00:00:00Z',
      overlap: 'skip',
      catchUp: 'last',
    });
    expect(created).toMatchObject({
      name,
      command,
      cron: '0 0 9 * * 1-5',
      timezone: 'Europe/Paris',
      startAt: '2026-01-01T00:00:00.000Z',
      overlap: 'skip',
      catchUp: 'last',
      paused: false,
      pendingRuns: 0,
    });
    expect(Date.parse(created.nextRunAt!)).toBeGreaterThan(Date.now());
    expect((await rejection(admin.schedules.define({ name, command, every: '1m' }))).details?.status).toBe(
      409,
    );

    const changed = await admin.schedules.update(name, { every: '2h', startAt: null, maxAttempts: 2 });
    expect(changed).toMatchObject({ every: '2h', maxAttempts: 2 });
    expect(changed.cron).toBeUndefined();
    expect(changed.startAt).toBeUndefined();
    expect((await admin.schedules.pause(name, 'holidays')).pauseReason).toBe('holidays');
    const { task, schedule } = await admin.schedules.runNow(name);
    expect(task).toMatchObject({
      command,
      payload: { report: 'weekday' },
      maxAttempts: 2,
      status: 'PENDING',
    });
    expect(schedule).toMatchObject({ lastTaskId: task.id, lastTaskStatus: 'PENDING', paused: true });
    expect((await admin.schedules.resume(name)).paused).toBe(false);
    expect((await admin.schedules.list()).find((s) => s.name === name)).toMatchObject({ every: '2h' });
    const history = await admin.schedules.history(name);
    expect(history.map((e) => e.type)).toEqual([
      'scheduleDefined',
      'scheduleUpdated',
      'schedulePaused',
      'scheduleRunRequested',
      'scheduleTicked',
      'scheduleResumed',
    ]);
    expect(history[0]).toMatchObject({ actor: 'admin:alice' });
    await admin.schedules.delete(name);
    expect((await rejection(admin.schedules.get(name))).details?.status).toBe(404);
  });

  it('ticks run on the server: an every-1s schedule enqueues its tasks, the view shows the last one', async () => {
    const name = uniqueName('tick');
    const command = uniqueName('cmd');
    await admin.schedules.define({ name, command, every: '1s' });
    const deadline = Date.now() + 10_000;
    while ((await engine.queueStats(command)).ready < 2 && Date.now() < deadline) await sleep(100);
    await admin.schedules.pause(name);
    const view = await admin.schedules.get(name);
    expect(view).toMatchObject({ lastTaskStatus: 'PENDING' });
    expect(view.lastTaskId).toBeDefined();
    expect(Date.parse(view.lastTickAt!) % 1000).toBe(0);
    expect((await engine.queueStats(command)).ready).toBeGreaterThanOrEqual(2);
    await admin.schedules.delete(name);
  });

  it('bad input is a 400 that writes nothing; admin only; a limited admin sees only its commands', async () => {
    const name = uniqueName('bad');
    for (const body of [
      { name, command: 'c', cron: '* * *' },
      { name, command: 'c', every: '500ms' },
      { name, command: 'c', every: '1m', cron: '* * * * *' },
      { name, command: 'c', every: '1m', timezone: 'Atlantis/City' },
      { name, command: 'c', every: '1m', startAt: 'tomorrow' },
      { name, command: 'c', every: '1m', overlap: 'sometimes' },
      { name: 'a.b', command: 'c', every: '1m' },
    ]) {
      const err = await rejection(admin.schedules.define(body as never));
      expect(err.details?.status, JSON.stringify(body)).toBe(400);
    }
    expect(await engine.schedules.history(name)).toEqual([]);

    const producer = new CodeqHttpClient({ baseUrl: base, tokens: { default: 'producer' } });
    // Admin routes answer a non-admin token as codeQ does: 401.
    expect((await rejection(producer.schedules.list())).details?.status).toBe(401);
    const limited = new CodeqHttpClient({ baseUrl: base, tokens: { default: 'admin-only' } });
    const mine = uniqueName('mine');
    const theirs = uniqueName('theirs');
    await limited.schedules.define({ name: mine, command: ALLOWED, every: '1h' });
    await admin.schedules.define({ name: theirs, command: 'other-cmd', every: '1h' });
    expect(
      (
        await rejection(
          limited.schedules.define({ name: uniqueName('x'), command: 'other-cmd', every: '1h' }),
        )
      ).details?.status,
    ).toBe(403);
    const names = (await limited.schedules.list()).map((s) => s.name);
    expect(names).toContain(mine);
    expect(names).not.toContain(theirs);
    expect((await rejection(limited.schedules.pause(theirs))).details?.status).toBe(404);
    await admin.schedules.delete(mine);
    await admin.schedules.delete(theirs);
  });

  it('is in the OpenAPI document', async () => {
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const paths = Object.keys(spec.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/codeq/admin/schedules',
        '/v1/codeq/admin/schedules/{name}',
        '/v1/codeq/admin/schedules/{name}/run',
      ]),
    );
  });
});

describe('codeq schedule (CLI)', () => {
  it('create, get, run, history, delete', async () => {
    const name = uniqueName('cli');
    const command = uniqueName('cmd');
    const created = await cli([
      'create',
      name,
      '--command',
      command,
      '--cron',
      '*/5 * * * *',
      '--timezone',
      'Asia/Tokyo',
      '--payload',
      '{"a":1}',
      '--overlap',
      'skip',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name,
      command,
      cron: '*/5 * * * *',
      timezone: 'Asia/Tokyo',
      overlap: 'skip',
    });
    const run = await cli(['run', name, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ command, payload: { a: 1 } });
    const got = await cli(['get', name]);
    expect(got.stdout).toMatch(/Next run:/);
    expect(got.stdout).toMatch(/PENDING/);
    const history = await cli(['history', name]);
    expect(history.stdout).toMatch(/scheduleDefined[\s\S]*scheduleRunRequested[\s\S]*scheduleTicked/);
    expect((await cli(['delete', name])).code).toBe(0);
    const gone = await cli(['get', name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404/);
    expect((await cli(['create', name, '--command', command])).code).toBe(1);
  });
});
