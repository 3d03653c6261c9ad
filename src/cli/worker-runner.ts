/**
 * What `codeq worker start` adds to the SDK's {@link Worker}: a process per task with the payload
 * JSON on stdin, its exit mapped to the task's outcome (complete with the stdout, or nack with the
 * stderr, as `--ack` says), and one report per task. Claiming, heartbeats, backoff and the drain on
 * stop are the SDK worker's.
 */
import { REASON_MAX_LENGTH } from '../contract/limits.js';
import { spawn } from 'node:child_process';
import {
  AbandonError,
  LetLeaseExpireError,
  RateLimitedError,
  RetryLaterError,
  isTransient,
} from '../sdk/errors.js';
import type { Transport } from '../sdk/transport.js';
import { Worker } from '../sdk/worker.js';
import type { FailureInfo, Job } from '../sdk/worker.types.js';

/** What to do with a task whose process exited 0 (codeQ's `--ack`). Failures always nack (except `none`). */
export type AckMode = 'complete' | 'abandon' | 'nack' | 'none';

/** Options of {@link runWorker}. */
export interface WorkerStartOptions {
  /** Commands to claim; empty means the token's event types. */
  commands: string[];
  /** The process per task: `{shell}` runs through `/bin/sh -c`, `{argv}` directly; absent: succeed at once. */
  handler?: { shell: string } | { argv: string[] };
  /** Tasks run at once; default 1. */
  concurrency: number;
  /** Lease length in seconds; default {@link DEFAULT_LEASE_SECONDS}. */
  leaseSeconds?: number;
  /** Long-poll wait per claim in seconds (0..30). */
  waitSeconds: number;
  /** Retry delay (seconds) given with nacks; default the server's backoff policy. */
  nackDelaySeconds?: number;
  /**
   * An exit code that means "rate limited downstream" (e.g. 75, EX_TEMPFAIL): the task is given back
   * without spending its attempt, and its group key (or queue) waits too. Default none.
   */
  rateLimitedExitCode?: number;
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
  /** Exit code of the process (`null` when it could not start, was killed or never ended). */
  exitCode: number | null;
  /**
   * What the worker did: `completed`, `abandoned`, `requeued`, `dlq`, `left` (ack none),
   * `cancelled` (the task was cancelled while it ran: its process was stopped, nothing was sent) or
   * `error`.
   */
  action: 'completed' | 'abandoned' | 'requeued' | 'dlq' | 'left' | 'cancelled' | 'error';
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
  /** A problem the worker recovers from (server unreachable, failed heartbeat), or why it stops. */
  onWarning?(message: string): void;
}

/** Totals when the worker stops. */
export interface WorkerSummary {
  /** Tasks handled. */
  handled: number;
  /** Count per action. */
  byAction: Partial<Record<TaskOutcome['action'], number>>;
}

/**
 * Lease per claim without `--lease-seconds`, s: the server's default. Sent explicitly because the
 * SDK keeps the lease deadline on the local clock and must know its length.
 */
export const DEFAULT_LEASE_SECONDS = 300;
/** Most of the stdout kept as the result, bytes (results live in one event, ~1 MB max). */
const MAX_STDOUT = 900_000;
/** The stderr tail kept as a nack reason, characters: within `REASON_MAX_LENGTH` with its ellipsis. */
const MAX_REASON = REASON_MAX_LENGTH - 96;

/** What the CLI knows of one task between its start and its release. */
interface Report {
  startedAt: number;
  /** The process, once it ended. */
  run?: ProcessRun;
  durationMs?: number;
  action?: TaskOutcome['action'];
  delaySeconds?: number;
  /** Why the process failed (nack reason). */
  message?: string;
  /** Why recording the outcome failed. */
  error?: string;
}

/**
 * Runs an SDK worker until `stop` aborts (then waits for running tasks, however long they take) or
 * `maxTasks` tasks were handled. Throws only on claim errors retrying cannot fix (bad token,
 * forbidden command, bad request), after running tasks finished.
 */
export async function runWorker(
  transport: Transport,
  options: WorkerStartOptions,
  stop: AbortSignal,
  hooks: WorkerHooks = {},
): Promise<WorkerSummary> {
  const reports = new WeakMap<Job, Report>();
  const summary: WorkerSummary = { handled: 0, byAction: {} };
  const worker = new Worker({
    transport,
    commands: options.commands,
    concurrency: options.concurrency,
    // One claim of all free slots at a time, as codeQ's worker does.
    claimLoops: 1,
    leaseSeconds: options.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    waitSeconds: options.waitSeconds,
    ...(options.maxTasks === undefined ? {} : { maxTasks: options.maxTasks }),
    // A stop lets running processes finish however long they take; a second signal exits at once.
    shutdownTimeoutMs: Infinity,
    stopOnPermanentClaimError: true,
    autorun: false,
    handler: async (job) => {
      const report: Report = { startedAt: Date.now() };
      reports.set(job, report);
      const run = await runProcess(options.handler, job);
      report.run = run;
      report.durationMs = Date.now() - report.startedAt;
      return outcomeOf(run, options);
    },
  });
  worker.on('completed', (job) => {
    const report = reports.get(job);
    if (report) report.action = 'completed';
  });
  worker.on('failed', (job, error, info) => {
    const report = reports.get(job);
    if (!report) return;
    report.action = actionOf(info);
    if (info.delaySeconds !== undefined) report.delaySeconds = info.delaySeconds;
    if (report.run && !succeeded(report.run)) report.message = error.message;
  });
  worker.on('leaseLost', (job, error) =>
    hooks.onWarning?.(`lease of ${job.id} lost (${error.message}); stopping its process`),
  );
  worker.on('cancelled', (job) => {
    const report = reports.get(job);
    if (report) report.action = 'cancelled';
    hooks.onWarning?.(`task ${job.id} was cancelled; stopping its process`);
  });
  worker.on('error', (error, job) => {
    const report = job && reports.get(job);
    if (report?.run)
      report.error = error.message; // the outcome was refused
    else if (job) hooks.onWarning?.(`heartbeat of ${job.id} failed: ${error.message}`);
    else if (isTransient(error)) hooks.onWarning?.(`claim failed (${error.message}); retrying`);
    else hooks.onWarning?.(`claim refused (${error.message}); stopping once running tasks finish`);
  });
  worker.on('released', (job) => {
    const report = reports.get(job);
    if (!report) return;
    const outcome = toOutcome(job, report);
    summary.handled++;
    summary.byAction[outcome.action] = (summary.byAction[outcome.action] ?? 0) + 1;
    hooks.onTask?.(outcome);
  });
  const onStop = (): void => void worker.close();
  stop.addEventListener('abort', onStop, { once: true });
  if (stop.aborted) onStop();
  try {
    await worker.run();
    await worker.close();
  } finally {
    stop.removeEventListener('abort', onStop);
  }
  return summary;
}

/** The handler's answer for a finished process: the result to complete with, or what to throw. */
function outcomeOf(run: ProcessRun, options: WorkerStartOptions): { stdout: unknown } {
  const ok = succeeded(run);
  if (options.ack === 'none') throw new LetLeaseExpireError('left to its lease (--ack none)');
  if (ok && options.ack === 'complete') return { stdout: parseOutput(run.stdout) };
  if (ok && options.ack === 'abandon') throw new AbandonError('abandoned by worker (--ack abandon)');
  const reason = ok
    ? 'nacked by worker (--ack nack)'
    : (run.spawnError ?? (tail(run.stderr, MAX_REASON) || `exit code ${run.exitCode ?? run.signal}`));
  if (!ok && options.rateLimitedExitCode !== undefined && run.exitCode === options.rateLimitedExitCode) {
    throw new RateLimitedError(reason, options.nackDelaySeconds ?? 0);
  }
  throw options.nackDelaySeconds === undefined
    ? new Error(reason)
    : new RetryLaterError(reason, options.nackDelaySeconds);
}

function actionOf(info: FailureInfo): TaskOutcome['action'] {
  if (info.via === 'abandon') return 'abandoned';
  if (info.via === 'none') return 'left';
  return info.outcome === 'dead' ? 'dlq' : 'requeued';
}

function toOutcome(job: Job, report: Report): TaskOutcome {
  const outcome: TaskOutcome = {
    taskId: job.id,
    command: job.command,
    exitCode: report.run?.exitCode ?? null,
    // Neither completed nor failed: the outcome was refused (or the task handed back).
    action: report.action ?? 'error',
    durationMs: report.durationMs ?? Date.now() - report.startedAt,
  };
  if (report.delaySeconds !== undefined) outcome.delaySeconds = report.delaySeconds;
  const message = report.action ? report.message : (report.error ?? 'task handed back unfinished');
  if (message !== undefined) outcome.message = message;
  return outcome;
}

interface ProcessRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spawnError?: string;
}

function succeeded(run: ProcessRun): boolean {
  return run.exitCode === 0 && run.spawnError === undefined;
}

/**
 * Runs the handler with the payload JSON on stdin and task details in the environment. The job's
 * signal (lease lost) ends the process: its result would be refused anyway.
 */
function runProcess(handler: WorkerStartOptions['handler'], job: Job): Promise<ProcessRun> {
  if (!handler) return Promise.resolve({ exitCode: 0, signal: null, stdout: '', stderr: '' });
  const [file, args] =
    'shell' in handler ? ['/bin/sh', ['-c', handler.shell]] : [handler.argv[0]!, handler.argv.slice(1)];
  const task = job.task;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: job.signal,
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
