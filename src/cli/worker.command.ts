/**
 * `codeq worker start`: runs a shell command per claimed task on the SDK's worker over HTTP (see
 * `worker-runner.ts`), stopping on SIGINT/SIGTERM once running tasks finish (a second signal stops
 * at once).
 */
import { WAIT_SECONDS_MAX } from '../contract/limits.js';
import { HttpTransport } from '../sdk/http.transport.js';
import type { Transport } from '../sdk/transport.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  parseCommandArgs,
  parseDuration,
  parseIntFlag,
  parseList,
  resolveConnection,
  UsageError,
  type CliContext,
  type ConnectionFlags,
} from './cli-args.js';
import { printJson, printLine } from './output.js';
import { DEFAULT_LEASE_SECONDS, runWorker, type AckMode, type WorkerStartOptions } from './worker-runner.js';

/** Help of `codeq worker`. */
const WORKER_HELP = `Usage: codeq worker start [--commands A,B] [--run '<shell command>' | -- <argv...>] [options]

Claims tasks with long polls and runs a process per task: the payload JSON on stdin, the task in
CODEQ_TASK_ID, CODEQ_TASK_COMMAND, CODEQ_TASK_ATTEMPTS, CODEQ_TASK_PRIORITY. Exit 0 completes the
task with result {"stdout": <stdout, parsed when it is JSON>}; another exit code nacks it with the
stderr as reason. Without a command every task succeeds at once (useful with --ack).

  --commands, --events <a,b>     commands to claim, comma separated or repeated
  --command, --event <name>      same, one at a time (default: the token's event types)
  --run <shell command>          run through /bin/sh -c (or give argv after --)
  --concurrency <n>              tasks at once (default 1)
  --lease-seconds <n>            lease per claim (default ${DEFAULT_LEASE_SECONDS}); heartbeats keep it
  --wait-seconds <n>             long-poll wait per claim, 0..30 (default 20)
  --poll-interval <duration>     codeQ's spelling of the wait, e.g. 1s, 500ms
  --ack <mode>                   after exit 0: complete (default), abandon, nack or none
  --nack-delay <duration>        retry delay of nacks, e.g. 10s (default: server's backoff)
  --rate-limited-exit <code>     exit code meaning "rate limited downstream" (e.g. 75): the task is
                                 given back without spending its attempt, its group key waits
  --max-tasks <n>                exit after handling n tasks

${CONNECTION_HELP}`;

const START_OPTIONS = {
  ...CONNECTION_OPTIONS,
  commands: { type: 'string', multiple: true },
  events: { type: 'string', multiple: true },
  command: { type: 'string', multiple: true },
  event: { type: 'string', multiple: true },
  run: { type: 'string' },
  concurrency: { type: 'string' },
  'lease-seconds': { type: 'string' },
  'wait-seconds': { type: 'string' },
  'poll-interval': { type: 'string' },
  ack: { type: 'string' },
  'nack-delay': { type: 'string' },
  'rate-limited-exit': { type: 'string' },
  'max-tasks': { type: 'string' },
} as const;

const ACK_MODES: AckMode[] = ['complete', 'abandon', 'nack', 'none'];

/** Turns `codeq worker start` flags into worker options (exported for tests). */
export function parseWorkerArgs(args: string[]): {
  options: WorkerStartOptions;
  values: Record<string, unknown>;
} {
  const { values, positionals, rest } = parseCommandArgs(args, START_OPTIONS);
  if (positionals.length)
    throw new UsageError(`unexpected argument '${positionals[0]}' (put the handler after --)`);
  const commands = parseList(values.commands, values.events, values.command, values.event);
  if (values.run !== undefined && rest.length)
    throw new UsageError('give --run or a command after --, not both');
  if (values['wait-seconds'] !== undefined && values['poll-interval'] !== undefined)
    throw new UsageError('--wait-seconds and --poll-interval are the same setting; give one');
  const waitSeconds =
    values['poll-interval'] !== undefined
      ? Math.min(
          WAIT_SECONDS_MAX,
          Math.ceil(parseDuration(values['poll-interval'], '--poll-interval') / 1000),
        )
      : (parseIntFlag(values['wait-seconds'], '--wait-seconds', { min: 0, max: WAIT_SECONDS_MAX }) ?? 20);
  const ack = (values.ack ?? 'complete') as AckMode;
  if (!ACK_MODES.includes(ack))
    throw new UsageError(`--ack: '${values.ack}' is not one of ${ACK_MODES.join(', ')}`);
  const options: WorkerStartOptions = {
    commands,
    concurrency: parseIntFlag(values.concurrency, '--concurrency', { min: 1, max: 10_000 }) ?? 1,
    waitSeconds,
    ack,
  };
  if (values.run !== undefined) {
    if (!values.run.trim()) throw new UsageError('--run: empty command');
    options.handler = { shell: values.run };
  } else if (rest.length) options.handler = { argv: rest };
  const lease = parseIntFlag(values['lease-seconds'], '--lease-seconds', { min: 1 });
  if (lease !== undefined) options.leaseSeconds = lease;
  if (values['nack-delay'] !== undefined)
    options.nackDelaySeconds = Math.ceil(parseDuration(values['nack-delay'], '--nack-delay') / 1000);
  const rateLimited = parseIntFlag(values['rate-limited-exit'], '--rate-limited-exit', { min: 1, max: 255 });
  if (rateLimited !== undefined) options.rateLimitedExitCode = rateLimited;
  const max = parseIntFlag(values['max-tasks'], '--max-tasks', { min: 1 });
  if (max !== undefined) options.maxTasks = max;
  return { options, values };
}

/** Runs `codeq worker ...`; resolves the exit code. */
export async function runWorkerCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, WORKER_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'start') throw new UsageError(`unknown subcommand 'worker ${sub}' (expected start)`);
  const { options, values } = parseWorkerArgs(rest);
  if (values.help) {
    printLine(ctx, WORKER_HELP);
    return 0;
  }
  const { transport, close, from } = await workerTransport(values, ctx);
  const json = values.json === true;
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      // Over HTTP a waiting long-poll is let end (an aborted one could drop leased tasks).
      const claim = transport.kind === 'nats' ? '' : `, a waiting claim ends within ${options.waitSeconds}s`;
      ctx.stderr(`codeq worker: ${sig}: finishing running tasks${claim} (send again to stop now)\n`);
      stop.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const what = options.commands.length ? options.commands.join(',') : "the token's commands";
  ctx.stderr(`codeq worker: claiming ${what} from ${from} (concurrency ${options.concurrency})\n`);
  try {
    const summary = await runWorker(transport, options, stop.signal, {
      onTask: (o) => {
        if (json) printJson(ctx, o);
        else {
          const delay =
            o.action === 'requeued' && o.delaySeconds !== undefined ? ` in ${o.delaySeconds}s` : '';
          const why = o.message ? `: ${o.message.split('\n')[0]}` : '';
          printLine(
            ctx,
            `${o.taskId} ${o.command} ${o.action}${delay} (exit ${o.exitCode}, ${o.durationMs} ms)${why}`,
          );
        }
      },
      onWarning: (m) => ctx.stderr(`codeq worker: ${m}\n`),
    });
    const parts = Object.entries(summary.byAction).map(([k, v]) => `${v} ${k}`);
    ctx.stderr(
      `codeq worker: stopped after ${summary.handled} tasks${parts.length ? ` (${parts.join(', ')})` : ''}\n`,
    );
    return summary.byAction.error ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}

/** The worker's transport: over NATS with `--nats-url` (or `CODEQ_NATS_URL`), else HTTP. */
async function workerTransport(
  values: ConnectionFlags,
  ctx: CliContext,
): Promise<{ transport: Transport; close: () => Promise<void>; from: string }> {
  const { baseUrl, natsUrl, natsPrefix, tokens } = resolveConnection(values, ctx.env, ctx.homeDir);
  if (natsUrl !== undefined) {
    // Loaded on demand: an HTTP worker never loads the NATS client.
    const { natsWorkerTransport } = await import('./nats-cli.js');
    const nats = await natsWorkerTransport({ url: natsUrl, prefix: natsPrefix, tokens });
    return { ...nats, from: `NATS ${natsUrl} (tasks pushed)` };
  }
  const transport = new HttpTransport({ baseUrl, tokens });
  return { transport, close: () => transport.close(), from: transport.client.url };
}
