/**
 * The loop behind `codeq worker start`: long-poll claims up to the free concurrency slots, runs a
 * process per task with the payload JSON on stdin, heartbeats while it runs, and reports the outcome
 * (complete with the stdout, or nack with the stderr). Stopping lets running tasks finish.
 */
import { REASON_MAX_LENGTH } from '../contract/limits.js';
import { spawn } from 'node:child_process';
import type { CodeqHttpClient, TaskJson } from '../client/http-client.js';
import { isCodeqError } from '../errors.js';

/** What to do with a task whose process exited 0 (codeQ's `--ack`). Failures always nack (except `none`). */
export type AckMode = 'complete' | 'abandon' | 'nack' | 'none';

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** Commands to claim; empty means the token's event types. */
  commands: string[];
  /** The process per task: `{shell}` runs through `/bin/sh -c`, `{argv}` directly; absent: succeed at once. */
  handler?: { shell: string } | { argv: string[] };
  /** Tasks run at once; default 1. */
  concurrency: number;
  /** Lease length in seconds; default the server's (300 s). */
  leaseSeconds?: number;
  /** Long-poll wait per claim in seconds (0..30). */
  waitSeconds: number;
  /** Retry delay (seconds) given with nacks; default the server's backoff policy. */
  nackDelaySeconds?: number;
  /** Exit after this many tasks were handled; default: run until stopped. */
  maxTasks?: number;
  /** What to do after a successful run; default `complete`. */
  ack: AckMode;
}

/** One handled task, as reported to {@link WorkerHooks.onTask}. */
export interface TaskOutcome {
  /** Task id. */
  taskId: string;
  /** Its command. */
  command: string;
  /** Exit code of the process (`null` when it could not start or was killed). */
  exitCode: number | null;
  /** What the worker did: `completed`, `abandoned`, `requeued`, `dlq`, `left` (ack none) or `error`. */
  action: 'completed' | 'abandoned' | 'requeued' | 'dlq' | 'left' | 'error';
  /** Retry delay the server chose for a nack, in seconds. */
  delaySeconds?: number;
  /** Why the action failed, or why the process failed. */
  message?: string;
  /** Run time of the process, ms. */
  durationMs: number;
}

/** Progress callbacks of {@link runWorker}. */
export interface WorkerHooks {
  /** A task was handled. */
  onTask?(outcome: TaskOutcome): void;
  /** A problem the worker recovers from (server unreachable, failed heartbeat). */
  onWarning?(message: string): void;
}

/** Totals when the worker stops. */
export interface WorkerSummary {
  /** Tasks handled. */
  handled: number;
  /** Count per action. */
  byAction: Partial<Record<TaskOutcome['action'], number>>;
}

/** Most of the stdout kept as the result, bytes (results live in one event, ~1 MB max). */
const MAX_STDOUT = 900_000;
/** The stderr tail kept as a nack reason, characters: within `REASON_MAX_LENGTH` with its ellipsis. */
const MAX_REASON = REASON_MAX_LENGTH - 96;

/**
 * Runs until `stop` aborts (then waits for running tasks) or `maxTasks` tasks were handled.
 * Throws only on errors retrying cannot fix (bad token, forbidden command, bad request).
 */
export async function runWorker(
  client: CodeqHttpClient,
  options: WorkerOptions,
  stop: AbortSignal,
  hooks: WorkerHooks = {},
): Promise<WorkerSummary> {
  const running = new Set<Promise<void>>();
  const summary: WorkerSummary = { handled: 0, byAction: {} };
  let taken = 0;
  let failures = 0;
  const limit = options.maxTasks ?? Infinity;
  while (!stop.aborted && taken < limit) {
    const free = options.concurrency - running.size;
    if (free <= 0) {
      await Promise.race(running);
      continue;
    }
    let tasks: TaskJson[];
    try {
      tasks = await client.claim({
        commands: options.commands,
        leaseSeconds: options.leaseSeconds,
        waitSeconds: options.waitSeconds,
        count: Math.min(free, limit - taken),
        signal: stop,
      });
      failures = 0;
    } catch (err) {
      if (isFatal(err)) {
        await Promise.allSettled(running);
        throw err;
      }
      failures++;
      const delay = Math.min(500 * 2 ** (failures - 1), 5000);
      hooks.onWarning?.(`claim failed (${(err as Error).message}); retrying in ${delay} ms`);
      await sleep(delay, stop);
      continue;
    }
    for (const task of tasks) {
      taken++;
      const p: Promise<void> = handleTask(client, options, task, hooks)
        .catch((err: unknown): TaskOutcome => {
          const message = err instanceof Error ? err.message : String(err);
          return {
            taskId: task.id,
            command: task.command,
            exitCode: null,
            action: 'error',
            message,
            durationMs: 0,
          };
        })
        .then((outcome) => {
          summary.handled++;
          summary.byAction[outcome.action] = (summary.byAction[outcome.action] ?? 0) + 1;
          hooks.onTask?.(outcome);
          running.delete(p);
        });
      running.add(p);
    }
  }
  await Promise.allSettled(running);
  return summary;
}

/** Errors a retry cannot fix: the request or the token is wrong. */
function isFatal(err: unknown): boolean {
  if (!isCodeqError(err)) return true;
  return err.code === 'INVALID_INPUT' || err.code === 'NOT_FOUND' || err.code === 'INTERNAL';
}

async function handleTask(
  client: CodeqHttpClient,
  options: WorkerOptions,
  task: TaskJson,
  hooks: WorkerHooks,
): Promise<TaskOutcome> {
  const started = Date.now();
  const stopHeartbeats = startHeartbeats(client, task, options.leaseSeconds, hooks);
  const run = await runProcess(options.handler, task);
  stopHeartbeats();
  const base = {
    taskId: task.id,
    command: task.command,
    exitCode: run.exitCode,
    durationMs: Date.now() - started,
  };
  const ok = run.exitCode === 0 && run.spawnError === undefined;
  try {
    if (options.ack === 'none') return { ...base, action: 'left' };
    if (ok && options.ack === 'complete') {
      await client.submitResult(task.id, {
        status: 'COMPLETED',
        result: { stdout: parseOutput(run.stdout) },
      });
      return { ...base, action: 'completed' };
    }
    if (ok && options.ack === 'abandon') {
      await client.abandon(task.id);
      return { ...base, action: 'abandoned' };
    }
    const reason = ok
      ? 'nacked by worker (--ack nack)'
      : (run.spawnError ?? (tail(run.stderr, MAX_REASON) || `exit code ${run.exitCode ?? run.signal}`));
    const nack = await client.nack(task.id, { delaySeconds: options.nackDelaySeconds, reason });
    return {
      ...base,
      action: nack.status === 'dlq' ? 'dlq' : 'requeued',
      delaySeconds: nack.delaySeconds,
      ...(ok ? {} : { message: reason }),
    };
  } catch (err) {
    return { ...base, action: 'error', message: (err as Error).message };
  }
}

/** Keeps the lease alive at a third of its length so one lost heartbeat does not lose the task. */
function startHeartbeats(
  client: CodeqHttpClient,
  task: TaskJson,
  leaseSeconds: number | undefined,
  hooks: WorkerHooks,
): () => void {
  const leaseMs = task.leaseUntil ? Date.parse(task.leaseUntil) - Date.now() : (leaseSeconds ?? 300) * 1000;
  const everyMs = Math.max(1000, Math.floor((Number.isFinite(leaseMs) ? leaseMs : 300_000) / 3));
  const timer = setInterval(() => {
    client.heartbeat(task.id, leaseSeconds).catch((err: unknown) => {
      hooks.onWarning?.(`heartbeat of ${task.id} failed: ${(err as Error).message}`);
    });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

interface ProcessRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spawnError?: string;
}

/** Runs the handler with the payload JSON on stdin and task details in the environment. */
function runProcess(handler: WorkerOptions['handler'], task: TaskJson): Promise<ProcessRun> {
  if (!handler) return Promise.resolve({ exitCode: 0, signal: null, stdout: '', stderr: '' });
  const [file, args] =
    'shell' in handler ? ['/bin/sh', ['-c', handler.shell]] : [handler.argv[0]!, handler.argv.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CODEQ_TASK_ID: task.id,
        CODEQ_TASK_COMMAND: task.command,
        CODEQ_TASK_ATTEMPTS: String(task.attempts),
        CODEQ_TASK_PRIORITY: String(task.priority),
      },
    });
    const out = collector(MAX_STDOUT);
    const errOut = collector(64 * 1024);
    child.stdout.on('data', out.push);
    child.stderr.on('data', errOut.push);
    // A handler that ignores stdin closes it early: EPIPE is not the task's failure.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(task.payload ?? null));
    let spawnError: string | undefined;
    child.on('error', (err) => {
      spawnError = `cannot run handler: ${err.message}`;
    });
    child.on('close', (exitCode, signal) => {
      resolve({
        exitCode,
        signal,
        stdout: out.text(),
        stderr: errOut.text(),
        ...(spawnError ? { spawnError } : {}),
      });
    });
  });
}

function collector(max: number): { push: (chunk: Buffer) => void; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (chunk) => {
      if (size >= max) return;
      chunks.push(chunk.subarray(0, max - size));
      size += chunk.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** The stdout as JSON when it is JSON, else as text (trailing newline dropped). */
export function parseOutput(stdout: string): unknown {
  const trimmed = stdout.trim();
  if (trimmed) {
    try {
      return JSON.parse(trimmed);
    } catch {
      // not JSON: keep the text
    }
  }
  return stdout.replace(/\r?\n$/, '');
}

function tail(text: string, max: number): string {
  const t = text.trim();
  return t.length <= max ? t : `…${t.slice(t.length - max)}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
