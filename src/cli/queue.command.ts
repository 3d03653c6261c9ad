/**
 * `codeq queue inspect|list|pause|resume|limits|controls`: queue counts, controls and health from
 * the admin API (the controls themselves are in queue-controls.command.ts).
 */
import type { QueueDetail } from '../client/http-client.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  natsClientFor,
  parseCommandArgs,
  requirePositional,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatQueueLine, formatRows, formatTable, printJson, printLine } from './output.js';
import {
  QUEUE_CONTROL_SUBCOMMANDS,
  runQueueControl,
  type QueueControlSubcommand,
} from './queue-controls.command.js';
import { formatLimits } from './queue-limits-args.js';

/** Help of `codeq queue`. */
const QUEUE_HELP = `Usage: codeq queue <inspect|list|pause|resume|limits|controls> [options]

  inspect <command> [--detail]  one command's counts: READY: n | DELAYED: n | IN_PROGRESS: n | DLQ: n
                                (| PAUSED when paused), then its limits when it has any; --detail adds
                                the health figures (oldest ready age, group keys, busiest keys)
  list                          counts of every command that has tasks
  pause <command> [--reason r]  no claims until resumed (enqueues go on)
  resume <command>              claims again
  limits <command> [--concurrency N|none] [--group-concurrency N|none]
                   [--rate N/INTERVAL|none] [--group-rate N/INTERVAL|none]
                                change limits (e.g. --rate 100/1s); a flag not given stays as it is
  controls <command>            who paused, resumed or limited it, and when

Run 'codeq queue <subcommand> --help' for its options.

${CONNECTION_HELP}`;

const INSPECT_OPTIONS = { ...CONNECTION_OPTIONS, detail: { type: 'boolean', short: 'd' } } as const;

/** Runs `codeq queue ...`; resolves the exit code. */
export async function runQueueCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, QUEUE_HELP);
    return sub === undefined ? 2 : 0;
  }
  if ((QUEUE_CONTROL_SUBCOMMANDS as readonly string[]).includes(sub))
    return runQueueControl(sub as QueueControlSubcommand, rest, ctx);
  if (sub !== 'inspect' && sub !== 'list')
    throw new UsageError(
      `unknown subcommand 'queue ${sub}' (expected inspect, list, ${QUEUE_CONTROL_SUBCOMMANDS.join(', ')})`,
    );
  const { values, positionals } = parseCommandArgs(rest, INSPECT_OPTIONS);
  if (values.help) {
    printLine(ctx, QUEUE_HELP);
    return 0;
  }
  if (sub === 'inspect') {
    const command = requirePositional(positionals, 0, 'command', 'codeq queue inspect <command>');
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const nats = await natsClientFor(values, ctx);
    if (nats) {
      // Over NATS the counts only (queues.stats); the health figures are admin, over HTTP.
      if (values.detail) throw new UsageError('--detail is served over HTTP only (drop --nats-url)');
      const stats = await nats.queueStats(command);
      if (values.json) printJson(ctx, stats);
      else printLine(ctx, formatQueueLine(stats));
      return 0;
    }
    const detail = await clientFor(values, ctx).queueDetail(command);
    if (values.json) printJson(ctx, detail);
    else printLine(ctx, formatInspect(detail, values.detail ?? false));
    return 0;
  }
  if (values.detail) throw new UsageError(`--detail is for 'queue inspect' only`);
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const all = await ((await natsClientFor(values, ctx)) ?? clientFor(values, ctx)).listQueues();
  if (values.json) printJson(ctx, all);
  else if (!all.length) printLine(ctx, 'no queues (no command has tasks)');
  else
    printLine(
      ctx,
      formatTable(
        ['COMMAND', 'READY', 'DELAYED', 'IN_PROGRESS', 'DLQ', 'PAUSED'],
        all.map((s) => [s.command, s.ready, s.delayed, s.inProgress, s.dlq, s.paused ? 'yes' : '']),
      ),
    );
  return 0;
}

/**
 * `queue inspect` as text: codeQ's line alone for a queue without limits (scripts parse it), the
 * limits when there are any, and with `detail` every health figure.
 */
export function formatInspect(detail: QueueDetail, full: boolean): string {
  const lines = [formatQueueLine(detail)];
  const limits = formatLimits(detail.limits ?? {});
  if (!full) return limits === 'none' ? lines[0]! : `${lines[0]}\nlimits: ${limits}`;
  lines.push(
    formatRows([
      ['paused', detail.paused ? 'yes' : 'no'],
      ['limits', limits],
      ['oldest ready', detail.oldestReadyAgeMs === undefined ? '-' : formatAge(detail.oldestReadyAgeMs)],
      ['group keys', `${detail.groups} (grouped ready ${detail.groupedReady})`],
    ]),
  );
  if (detail.topGroups?.length)
    lines.push(
      formatTable(
        ['GROUP', 'READY', 'LEASED'],
        detail.topGroups.map((g) => [g.groupKey, g.ready, g.leased]),
      ),
    );
  return lines.join('\n');
}

/** An age for humans: `850ms`, `12.3s`, `4m 5s`, `2h 10m`. */
function formatAge(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h ${Math.floor((ms % 3_600_000) / 60_000)}m`;
}
