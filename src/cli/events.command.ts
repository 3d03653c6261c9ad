/**
 * `codeq events replay|tail`: streams the event log as JSON lines from a sequence or a time, through
 * the admin events endpoint. `replay` stops when it has caught up; `tail` keeps long-polling.
 */
import { EVENTS_LIMIT_MAX } from '../contract/limits.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  parseCommandArgs,
  parseDuration,
  parseIntFlag,
  parseList,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { printJson, printLine } from './output.js';

/** Help of `codeq events`. */
const EVENTS_HELP = `Usage: codeq events <replay|tail> [options]

Prints task events as JSON lines ({"seq","type","taskId","command","time","actor","data"}).

  replay                         from the start (or --from-seq/--from-time) until caught up
  tail                           from now (or --from-seq/--from-time), then follow new events
  --from-seq <n>                 first stream sequence
  --from-time <time>             RFC3339 time, or a duration ago (e.g. 10m, 2h)
  --command, --event <a,b>       only these commands (also --commands, --events)
  --task <id>                    only this task
  --limit <n>                    events per request (default 500)
  --wait-seconds <n>             tail: long-poll wait per request, 1..30 (default 25)
  --poll-interval <duration>     codeQ's spelling of the wait
  --max-events <n>               stop after printing n events

${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  'from-seq': { type: 'string' },
  'from-time': { type: 'string' },
  command: { type: 'string', multiple: true },
  event: { type: 'string', multiple: true },
  commands: { type: 'string', multiple: true },
  events: { type: 'string', multiple: true },
  task: { type: 'string' },
  limit: { type: 'string' },
  'wait-seconds': { type: 'string' },
  'poll-interval': { type: 'string' },
  'max-events': { type: 'string' },
} as const;

/** Resolves `--from-time`: an RFC3339 time, or a duration before `now`. */
export function parseFromTime(text: string, now = Date.now()): string {
  if (/^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$/i.test(text))
    return new Date(now - parseDuration(text, '--from-time')).toISOString();
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new UsageError(`--from-time: '${text}' is not an RFC3339 time or a duration like 10m`);
  return new Date(t).toISOString();
}

/** Runs `codeq events ...`; resolves the exit code. */
export async function runEventsCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, EVENTS_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'replay' && sub !== 'tail')
    throw new UsageError(`unknown subcommand 'events ${sub}' (expected replay, tail)`);
  const { values, positionals } = parseCommandArgs(rest, OPTIONS);
  if (values.help) {
    printLine(ctx, EVENTS_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values['from-seq'] !== undefined && values['from-time'] !== undefined)
    throw new UsageError('give --from-seq or --from-time, not both');
  if (values['wait-seconds'] !== undefined && values['poll-interval'] !== undefined)
    throw new UsageError('--wait-seconds and --poll-interval are the same setting; give one');
  let fromSeq = parseIntFlag(values['from-seq'], '--from-seq', { min: 0 });
  let fromTime = values['from-time'] !== undefined ? parseFromTime(values['from-time']) : undefined;
  if (fromSeq === undefined && fromTime === undefined) {
    if (sub === 'replay') fromSeq = 1;
    else fromTime = new Date().toISOString();
  }
  const limit = parseIntFlag(values.limit, '--limit', { min: 1, max: EVENTS_LIMIT_MAX }) ?? 500;
  const waitSeconds =
    values['poll-interval'] !== undefined
      ? Math.min(30, Math.max(1, Math.ceil(parseDuration(values['poll-interval'], '--poll-interval') / 1000)))
      : (parseIntFlag(values['wait-seconds'], '--wait-seconds', { min: 1, max: 30 }) ?? 25);
  const maxEvents = parseIntFlag(values['max-events'], '--max-events', { min: 1 }) ?? Infinity;
  const only = parseList(values.command, values.event, values.commands, values.events);
  const client = clientFor(values, ctx);

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let printed = 0;
  try {
    while (!stop.signal.aborted && printed < maxEvents) {
      const started = Date.now();
      const page = await client
        .events({
          ...(fromSeq !== undefined ? { fromSeq } : { fromTime }),
          limit,
          ...(sub === 'tail' ? { waitSeconds } : {}),
          signal: stop.signal,
        })
        .catch((err: unknown) => {
          if (stop.signal.aborted) return undefined;
          throw err;
        });
      if (!page) break;
      for (const event of page.events) {
        if (only.length && !only.includes(event.command ?? '')) continue;
        if (values.task && event.taskId !== values.task) continue;
        printJson(ctx, event);
        if (++printed >= maxEvents) break;
      }
      if (page.nextSeq !== undefined) {
        fromSeq = page.nextSeq;
        fromTime = undefined;
      }
      if (page.events.length === 0) {
        if (sub === 'replay') break;
        // A server that does not hold empty answers must not make tail spin.
        const elapsed = Date.now() - started;
        if (elapsed < 1000) await new Promise((r) => setTimeout(r, 1000 - elapsed));
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
