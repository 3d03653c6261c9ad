/**
 * The `codeq` CLI end to end: a real service in-process (port 0, unique stream and keys on the
 * shared NATS and Redis), the CLI spawned as a separate process the way users run it: the built
 * `bin` (dist/ is made first when it is older than the sources).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import type { RunningService } from '../../src/service/start-service.js';
import { BUILD_TIMEOUT_MS, CLI_BIN, ensureBuilt } from '../support/build.js';
import { startTestService } from '../support/service.js';
import { uniqueName } from '../support/servers.js';

const TOKENS = { producer: 'dev-producer-token', worker: 'dev-worker-token', admin: 'dev-admin-token' };

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let service: RunningService;
let client: CodeqHttpClient;

function cli(
  args: string[],
  timeoutMs = 50_000,
  onSpawn?: (child: ReturnType<typeof spawn>) => void,
  envOverrides: Record<string, string | undefined> = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        CODEQ_BASE_URL: service.url,
        CODEQ_PRODUCER_TOKEN: TOKENS.producer,
        CODEQ_WORKER_TOKEN: TOKENS.worker,
        CODEQ_ADMIN_TOKEN: TOKENS.admin,
        ...envOverrides,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`codeq ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

beforeAll(async () => {
  service = await startTestService('CLI');
  client = new CodeqHttpClient({ baseUrl: service.url, tokens: TOKENS });
});

afterAll(async () => {
  await service?.stop();
});

describe('codeq CLI', () => {
  it('creates, reads and inspects a task', async () => {
    const command = uniqueName('GEN');
    const created = await cli([
      'task',
      'create',
      '--command',
      command,
      '--payload',
      '{"jobId":"j-1"}',
      '--priority',
      '7',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const task = JSON.parse(created.stdout) as { id: string; status: string; priority: number };
    expect(task).toMatchObject({ status: 'PENDING', priority: 7 });

    // codeQ's spelling of the flag works too.
    const second = await cli(['task', 'create', '--event', command, '--payload', '{}']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^created task [0-9a-f-]{36} /);

    const got = await cli(['task', 'get', task.id]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toContain(task.id);
    expect(got.stdout).toMatch(/payload:\s+\{"jobId":"j-1"\}/);

    const inspect = await cli(['queue', 'inspect', command]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toBe('READY: 2 | DELAYED: 0 | IN_PROGRESS: 0 | DLQ: 0\n');

    const list = await cli(['queue', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toContainEqual({
      command,
      ready: 2,
      delayed: 0,
      inProgress: 0,
      dlq: 0,
      paused: false,
    });

    const history = await cli(['task', 'history', task.id]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/enqueued/);
  });

  it('cancels a running task by id, and many by filter (dry run first), showing progress', async () => {
    const command = uniqueName('CXL');
    const tasks = await client.createTasks([0, 1, 2].map((i) => ({ command, payload: { i } })));
    const [running] = await client.claim({ commands: [command], leaseSeconds: 60 });
    await client.progress(running!.id, 40, { step: 'two' });
    const shown = await cli(['task', 'get', running!.id]);
    expect(shown.stdout).toMatch(/progress:\s+40% at /);
    expect(shown.stdout).toMatch(/progressData:\s+\{"step":"two"\}/);

    const one = await cli(['task', 'cancel', running!.id, '--reason', 'stop it', '--json']);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ id: running!.id, status: 'CANCELLED', error: 'stop it' });

    const dry = await cli(['task', 'cancel', '--command', command, '--state', 'pending', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`2 task(s) of ${command} match; nothing cancelled (dry run)\n`);
    const bulk = await cli(['task', 'cancel', '--command', command, '--reason', 'cleanup', '--json']);
    expect(bulk.code, bulk.stderr).toBe(0);
    const out = JSON.parse(bulk.stdout) as { operationId: string; matched: number; cancelled: number };
    expect(out).toMatchObject({ matched: 2, cancelled: 2 });
    for (const t of tasks.slice(1)) {
      const history = await client.history(t.id);
      expect(history.events.at(-1)).toMatchObject({
        type: 'cancelled',
        data: { operationId: out.operationId },
      });
    }
    const mixed = await cli(['task', 'cancel', running!.id, '--state', 'pending']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--state is for a bulk cancel');
  });

  it('pauses, resumes and limits a queue; inspect shows it; create takes a group key', async () => {
    const command = uniqueName('CTL');
    const created = await cli(['task', 'create', '--command', command, '--group-key', 'tenant-1', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ command, groupKey: 'tenant-1' });

    const paused = await cli(['queue', 'pause', command, '--reason', 'deploy']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toBe(`paused ${command}\n`);
    expect(await client.claim({ commands: [command] })).toEqual([]);

    const limits = await cli(['queue', 'limits', command, '--concurrency', '2', '--group-rate', '5/500ms']);
    expect(limits.code, limits.stderr).toBe(0);
    expect(limits.stdout).toBe(`limits of ${command}: concurrency 2, group-rate 5/500ms\n`);

    const inspect = await cli(['queue', 'inspect', command]);
    expect(inspect.stdout).toBe(
      'READY: 1 | DELAYED: 0 | IN_PROGRESS: 0 | DLQ: 0 | PAUSED\nlimits: concurrency 2, group-rate 5/500ms\n',
    );
    const json = await cli(['queue', 'inspect', command, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      command,
      ready: 1,
      paused: true,
      limits: { concurrency: 2, groupRate: { limit: 5, intervalMs: 500 } },
      groups: 1,
      topGroups: [{ groupKey: 'tenant-1', ready: 1, leased: 0 }],
    });

    // A bad flag is a usage error (exit 2) and nothing is sent.
    const bad = await cli(['queue', 'limits', command, '--rate', '10']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--rate: '10' is not N/INTERVAL");

    const resumed = await cli(['queue', 'resume', command, '--json']);
    expect(JSON.parse(resumed.stdout)).toEqual({
      command,
      paused: false,
      limits: { concurrency: 2, groupRate: { limit: 5, intervalMs: 500 } },
      changed: true,
    });
    expect(await client.claim({ commands: [command] })).toHaveLength(1);

    const controls = await cli(['queue', 'controls', command, '--json']);
    const { events } = JSON.parse(controls.stdout) as { events: Array<{ type: string; actor: string }> };
    expect(events.map((e) => e.type)).toEqual(['queuePaused', 'queueLimitsChanged', 'queueResumed']);
    expect(events[0]!.actor).toMatch(/^admin:/);
  });

  it('gives a task back rate-limited on the exit code --rate-limited-exit names', async () => {
    const command = uniqueName('RLX');
    const [task] = await client.createTasks([{ command, payload: {}, maxAttempts: 1 }]);
    const run = await cli(
      ['worker', 'start', '--commands', command, '--wait-seconds', '1', '--max-tasks', '1'].concat([
        '--rate-limited-exit',
        '75',
        '--nack-delay',
        '30s',
        '--json',
        '--run',
        'echo slow down >&2; exit 75',
      ]),
    );
    expect(run.code, run.stderr).toBe(0);
    const history = await client.history(task!.id);
    expect(history.events.at(-1)).toMatchObject({ type: 'rateLimited', data: { attempts: 0 } });
    const bad = await cli(['worker', 'start', '--commands', command, '--rate-limited-exit', '300']);
    expect(bad.code).toBe(2);
  });

  it('runs `cat` on 100 tasks with worker start and completes them all', async () => {
    const command = uniqueName('CAT');
    const tasks = await client.createTasks(
      Array.from({ length: 100 }, (_, i) => ({ command, payload: { n: i, text: `task ${i}` } })),
    );
    expect(tasks).toHaveLength(100);
    const run = await cli([
      'worker',
      'start',
      '--commands',
      command,
      '--poll-interval',
      '1s',
      '--concurrency',
      '8',
      '--max-tasks',
      '100',
      '--json',
      '--',
      'cat',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const outcomes = jsonLines(run.stdout);
    expect(outcomes).toHaveLength(100);
    expect(outcomes.every((o) => o.action === 'completed')).toBe(true);
    expect(new Set(outcomes.map((o) => o.taskId))).toEqual(new Set(tasks.map((t) => t.id)));

    const result = await cli(['task', 'result', tasks[42]!.id, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      task: { status: 'COMPLETED' },
      result: { status: 'COMPLETED', result: { stdout: { n: 42, text: 'task 42' } } },
    });
    const inspect = await cli(['queue', 'inspect', command]);
    expect(inspect.stdout).toBe('READY: 0 | DELAYED: 0 | IN_PROGRESS: 0 | DLQ: 0\n');
  });

  it('nacks a failing command into the DLQ, lists and requeues it', async () => {
    const command = uniqueName('FAIL');
    const task = await client.createTask({ command, payload: { x: 1 }, maxAttempts: 1 });
    const run = await cli([
      'worker',
      'start',
      '--event',
      command,
      '--wait-seconds',
      '1',
      '--max-tasks',
      '1',
      '--run',
      'echo boom >&2; exit 3',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${task.id} ${command} dlq \\(exit 3, \\d+ ms\\): boom`));

    const inspect = await cli(['queue', 'inspect', command]);
    expect(inspect.stdout).toBe('READY: 0 | DELAYED: 0 | IN_PROGRESS: 0 | DLQ: 1\n');
    const list = await cli(['dlq', 'list', command, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const page = JSON.parse(list.stdout) as { tasks: Array<{ id: string; error?: string }>; total: number };
    expect(page.tasks.map((t) => t.id)).toEqual([task.id]);
    expect(page.tasks[0]!.error).toMatch(/boom/);
    const human = await cli(['dlq', 'list', command]);
    expect(human.stdout).toContain(task.id);

    const requeue = await cli(['dlq', 'requeue', command, '--id', task.id]);
    expect(requeue.code, requeue.stderr).toBe(0);
    expect(requeue.stdout).toBe(`requeued 1 task(s) of ${command}\n`);
    const after = await cli(['queue', 'inspect', command]);
    expect(after.stdout).toBe('READY: 1 | DELAYED: 0 | IN_PROGRESS: 0 | DLQ: 0\n');
  });

  it('drains on SIGTERM: the running task completes, nothing more is claimed, exit 0', async () => {
    const command = uniqueName('DRAIN');
    const [first, second] = await client.createTasks([
      { command, payload: { n: 1 }, priority: 9 },
      { command, payload: { n: 2 } },
    ]);
    let child: ReturnType<typeof spawn> | undefined;
    const run = cli(
      ['worker', 'start', '--commands', command, '--wait-seconds', '1', '--run', 'sleep 2; cat'],
      50_000,
      (c) => (child = c),
    );
    // Once the first task is leased, ask the worker to stop: it must let the process finish.
    for (let i = 0; (await client.getTask(first!.id)).status !== 'IN_PROGRESS'; i++) {
      if (i > 300) throw new Error('the worker never claimed the task');
      await new Promise((r) => setTimeout(r, 50));
    }
    child!.kill('SIGTERM');
    const done = await run;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/SIGTERM: finishing running tasks/);
    expect(done.stderr).toMatch(/stopped after 1 tasks \(1 completed\)/);
    expect(done.stdout).toMatch(new RegExp(`^${first!.id} ${command} completed \\(exit 0, \\d+ ms\\)\n$`));
    expect(await client.getResult(first!.id)).toMatchObject({ result: { result: { stdout: { n: 1 } } } });
    expect((await client.getTask(second!.id)).status).toBe('PENDING');
  });

  it.each([
    { ack: 'abandon', flags: [], action: 'abandoned', status: 'PENDING', extra: {} },
    {
      ack: 'nack',
      flags: ['--nack-delay', '30s'],
      action: 'requeued',
      status: 'PENDING',
      extra: { delaySeconds: 30 },
    },
    { ack: 'none', flags: ['--lease-seconds', '60'], action: 'left', status: 'IN_PROGRESS', extra: {} },
  ])('--ack $ack after exit 0: $action', async ({ ack, flags, action, status, extra }) => {
    const command = uniqueName('ACK');
    const task = await client.createTask({ command, payload: {} });
    const run = await cli([
      'worker',
      'start',
      '--commands',
      command,
      '--wait-seconds',
      '1',
      '--max-tasks',
      '1',
      '--ack',
      ack,
      ...flags,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout)).toEqual([
      expect.objectContaining({ taskId: task.id, action, exitCode: 0, ...extra }),
    ]);
    expect(await client.getTask(task.id)).toMatchObject({ status, attempts: 1 });
  });

  it('replays and tails the event log as JSON lines', async () => {
    const command = uniqueName('EVT');
    const first = await client.createTask({ command, payload: { i: 0 } });
    const replay = await cli(['events', 'replay', '--from-seq', '1', '--command', command]);
    expect(replay.code, replay.stderr).toBe(0);
    const replayed = jsonLines(replay.stdout);
    expect(replayed.map((e) => [e.type, e.taskId])).toEqual([['enqueued', first.id]]);

    // Only the two tasks created after --from-time show up; the tail long-polls until they come.
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    const tail = cli([
      'events',
      'tail',
      '--events',
      command,
      '--from-time',
      since,
      '--wait-seconds',
      '2',
      '--max-events',
      '2',
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    const later = await client.createTasks([
      { command, payload: { i: 1 } },
      { command, payload: { i: 2 } },
    ]);
    const tailed = await tail;
    expect(tailed.code, tailed.stderr).toBe(0);
    expect(jsonLines(tailed.stdout).map((e) => e.taskId)).toEqual(later.map((t) => t.id));
  });

  it('rebuilds projections through the admin endpoint', async () => {
    const run = await cli(['projections', 'rebuild', '--json']);
    expect(run.code, run.stderr).toBe(0);
    // stderr is a pipe here: plain lines, no carriage-return redraws running them together.
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).toMatch(/^rebuilding projections\.\.\.\nrebuilt projections in \d+\.\ds\n$/);
  });

  it('exits 2 on usage errors and 1 on operation errors, with a message', async () => {
    const usage = await cli(['queue', 'inspect']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing <command>/);
    const missing = await cli(['task', 'get', randomUUID()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND \(HTTP 404\)/);
    const badToken = await cli(['queue', 'list', '--token', 'not-a-token']);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/UNAUTHORIZED \(HTTP 401\).*set CODEQ_ADMIN_TOKEN/);
    const forbidden = await cli(['worker', 'start', '--commands', 'X', '--token', 'not-a-token']);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/HTTP 40[13]/);
    // No producer token at all: the message names the variable to set (an env var set to '' is unset).
    const noToken = await cli(
      ['task', 'create', '--command', uniqueName('NOTOKEN'), '--payload', '{}'],
      50_000,
      undefined,
      { CODEQ_PRODUCER_TOKEN: '', HOME: '/nonexistent' },
    );
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^codeq: UNAUTHORIZED \(HTTP 401\): .*set CODEQ_PRODUCER_TOKEN/);
    const help = await cli(['worker', 'start', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--poll-interval/);
  });

  it("--nats-url: creates and runs a task over codeq's NATS service", async () => {
    const command = uniqueName('NATSCLI');
    const nats = { CODEQ_NATS_URL: service.config.natsUrl!, CODEQ_NATS_PREFIX: service.config.natsApiPrefix };
    const created = await cli(
      ['task', 'create', '--command', command, '--payload', '{"n":1}', '--json'],
      50_000,
      undefined,
      nats,
    );
    expect(created.code, created.stderr).toBe(0);
    const task = JSON.parse(created.stdout) as { id: string; status: string };
    expect(task.status).toBe('PENDING');
    const run = await cli(
      ['worker', 'start', '--commands', command, '--max-tasks', '1', '--json', '--', 'cat'],
      50_000,
      undefined,
      nats,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('tasks pushed');
    expect(jsonLines(run.stdout)[0]).toMatchObject({ taskId: task.id, action: 'completed' });
    expect((await client.getTask(task.id)).status).toBe('COMPLETED');
  });
});
