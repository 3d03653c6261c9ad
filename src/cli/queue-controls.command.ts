/**
 * `codeq queue pause|resume|limits|controls <command>`: an operator's controls of one queue, each
 * recorded in the log with the admin token's subject as its actor.
 */
import type { ControlEventJson, QueueControlAnswer } from '../client/http-client.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  parseCommandArgs,
  parseIntFlag,
  requirePositional,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatTable, formatTime, printJson, printLine, truncate } from './output.js';
import { formatLimits, parseLimitFlags, type LimitFlags } from './queue-limits-args.js';
import { CONTROLS_LIMIT_DEFAULT, CONTROLS_LIMIT_MAX } from '../contract/queue-controls.js';

/** The subcommands this module runs. */
export const QUEUE_CONTROL_SUBCOMMANDS = ['pause', 'resume', 'limits', 'controls'] as const;

/** One of {@link QUEUE_CONTROL_SUBCOMMANDS}. */
export type QueueControlSubcommand = (typeof QUEUE_CONTROL_SUBCOMMANDS)[number];

/** Help of each subcommand. */
export const QUEUE_CONTROL_HELP: Record<QueueControlSubcommand, string> = {
  pause: `Usage: codeq queue pause <command> [--reason <text>]

  Pauses a queue: it accepts enqueues and hands out no claims (waiting claims keep waiting) until
  resumed. Recorded in the log with the reason; pausing a paused queue changes nothing.

${CONNECTION_HELP}`,
  resume: `Usage: codeq queue resume <command>

  Resumes a paused queue: waiting claims get its tasks at once.

${CONNECTION_HELP}`,
  limits: `Usage: codeq queue limits <command> [--concurrency N|none] [--group-concurrency N|none]
                                   [--rate N/INTERVAL|none] [--group-rate N/INTERVAL|none]

  Changes a queue's limits, across every server instance. A flag given sets that limit, 'none'
  removes it, a flag not given leaves it as it is. At least one flag.

  --concurrency N          at most N tasks of the queue leased at once
  --group-concurrency N    at most N tasks of one group key leased at once
  --rate N/INTERVAL        at most N claims of the queue per interval (e.g. 100/1s, 5/500ms, 1000/1m)
  --group-rate N/INTERVAL  at most N claims of one group key per interval

${CONNECTION_HELP}`,
  controls: `Usage: codeq queue controls <command> [--limit N]

  Shows who paused, resumed or limited a queue, and when (its control events, oldest first).

  --limit N   the newest N events (1..${CONTROLS_LIMIT_MAX}, default ${CONTROLS_LIMIT_DEFAULT})

${CONNECTION_HELP}`,
};

const OPTIONS = {
  pause: { ...CONNECTION_OPTIONS, reason: { type: 'string' } },
  resume: CONNECTION_OPTIONS,
  limits: {
    ...CONNECTION_OPTIONS,
    concurrency: { type: 'string' },
    'group-concurrency': { type: 'string' },
    rate: { type: 'string' },
    'group-rate': { type: 'string' },
  },
  controls: { ...CONNECTION_OPTIONS, limit: { type: 'string' } },
} as const;

/** Runs `codeq queue <pause|resume|limits|controls> ...`; resolves the exit code. */
export async function runQueueControl(
  sub: QueueControlSubcommand,
  args: string[],
  ctx: CliContext,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS[sub]);
  if (values.help) {
    printLine(ctx, QUEUE_CONTROL_HELP[sub]);
    return 0;
  }
  const command = requirePositional(positionals, 0, 'command', `codeq queue ${sub} <command>`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  // Flags are checked before anything is sent.
  const patch = sub === 'limits' ? parseLimitFlags(values as LimitFlags) : undefined;
  const limit =
    sub === 'controls'
      ? parseIntFlag((values as { limit?: string }).limit, '--limit', { min: 1, max: CONTROLS_LIMIT_MAX })
      : undefined;
  const client = clientFor(values, ctx);
  if (sub === 'controls') {
    const events = await client.queueControls(command, limit === undefined ? {} : { limit });
    if (values.json) printJson(ctx, { events });
    else printLine(ctx, formatControls(command, events));
    return 0;
  }
  let answer: QueueControlAnswer;
  if (sub === 'pause') {
    const { reason } = values as { reason?: string };
    answer = await client.pauseQueue(command, reason === undefined ? {} : { reason });
  } else if (sub === 'resume') answer = await client.resumeQueue(command);
  else answer = await client.setQueueLimits(command, patch!);
  if (values.json) printJson(ctx, answer);
  else printLine(ctx, formatAnswer(sub, answer));
  return 0;
}

/** One line saying what a control did (or that the queue already was so). */
export function formatAnswer(sub: 'pause' | 'resume' | 'limits', answer: QueueControlAnswer): string {
  const { command, changed } = answer;
  if (sub === 'pause') return changed ? `paused ${command}` : `${command} was already paused`;
  if (sub === 'resume') return changed ? `resumed ${command}` : `${command} was not paused`;
  return `${changed ? 'limits of' : 'limits unchanged for'} ${command}: ${formatLimits(answer.limits)}`;
}

function formatControls(command: string, events: ControlEventJson[]): string {
  if (!events.length) return `no controls of ${command} (running, no limits)`;
  const rows = events.map((e) => [
    e.seq,
    formatTime(e.time),
    e.type,
    e.actor,
    truncate(JSON.stringify(e.data), 60),
  ]);
  return formatTable(['SEQ', 'AT', 'EVENT', 'ACTOR', 'DATA'], rows);
}
