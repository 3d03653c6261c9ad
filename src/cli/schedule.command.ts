/**
 * `codeq schedule create|list|get|update|delete|pause|resume|run|history`: recurring tasks through
 * the admin API (`/admin/schedules`).
 */
import type { ScheduleBody, ScheduleChange, ScheduleJson } from '../client/schedules.client.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  parseCommandArgs,
  parseIntFlag,
  parseJsonFlag,
  parseList,
  requirePositional,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatRows, formatTable, formatTask, printJson, printLine, truncate } from './output.js';

/** Help of `codeq schedule`. */
const SCHEDULE_HELP = `Usage: codeq schedule <subcommand> [options]

  create <name> --command <c> (--cron <expr> | --every <d>) [definition options]
  list                           every schedule
  get <name>                     definition, next and last run, last task and its status
  update <name> [definition options] [--clear start-at,end-at,max-attempts]
  delete <name>
  pause <name> [--reason <text>] ticks enqueue nothing until resumed (run still works)
  resume <name>                  ticks from now on (those that fell while paused are not owed)
  run <name>                     enqueue one task now
  history <name> [--limit <n>]   every definition change, run request and tick

Definition options:
  --command <c>        queue the tasks go to
  --cron <expr>        cron: 5 fields (minute first) or 6 (second first), e.g. '0 30 2 * * *'
  --every <d>          interval: 30s, 5m, 1h, 1d, 1h30m (at least 1s)
  --timezone <tz>      IANA zone of the cron expression (default UTC)
  --payload <json>     payload of every task (default null)
  --priority <0-9>     default 0
  --max-attempts <n>   default the server's
  --start-at <time>    no tick before (RFC3339)
  --end-at <time>      no tick after (RFC3339)
  --jitter <s>         delay each tick by a deterministic 0..s seconds
  --overlap <p>        allow (default) | skip | cancelPrevious, while the previous task runs
  --catch-up <p>       none (default) | last | all, for ticks missed while every instance was down
  --paused             (create) define it paused

${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  command: { type: 'string' },
  cron: { type: 'string' },
  every: { type: 'string' },
  timezone: { type: 'string' },
  payload: { type: 'string' },
  priority: { type: 'string' },
  'max-attempts': { type: 'string' },
  'start-at': { type: 'string' },
  'end-at': { type: 'string' },
  jitter: { type: 'string' },
  overlap: { type: 'string' },
  'catch-up': { type: 'string' },
  paused: { type: 'boolean' },
  clear: { type: 'string', multiple: true },
  reason: { type: 'string' },
  limit: { type: 'string' },
} as const;

const SUBCOMMANDS = ['create', 'list', 'get', 'update', 'delete', 'pause', 'resume', 'run', 'history'];
const CLEARABLE = { 'start-at': 'startAt', 'end-at': 'endAt', 'max-attempts': 'maxAttempts' } as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

/** The definition fields the flags give (absent flags give nothing). */
function definition(values: Values): ScheduleChange {
  const out: ScheduleChange = {};
  if (values.command !== undefined) out.command = values.command;
  if (values.cron !== undefined) out.cron = values.cron;
  if (values.every !== undefined) out.every = values.every;
  if (values.timezone !== undefined) out.timezone = values.timezone;
  if (values.payload !== undefined) out.payload = parseJsonFlag(values.payload, '--payload');
  const priority = parseIntFlag(values.priority, '--priority', { min: 0, max: 9 });
  if (priority !== undefined) out.priority = priority;
  const maxAttempts = parseIntFlag(values['max-attempts'], '--max-attempts', { min: 1 });
  if (maxAttempts !== undefined) out.maxAttempts = maxAttempts;
  if (values['start-at'] !== undefined) out.startAt = values['start-at'];
  if (values['end-at'] !== undefined) out.endAt = values['end-at'];
  const jitter = parseIntFlag(values.jitter, '--jitter', { min: 0 });
  if (jitter !== undefined) out.jitterSeconds = jitter;
  if (values.overlap !== undefined) out.overlap = values.overlap as ScheduleBody['overlap'];
  if (values['catch-up'] !== undefined) out.catchUp = values['catch-up'] as ScheduleBody['catchUp'];
  return out;
}

/** One schedule for humans. */
function formatSchedule(s: ScheduleJson): string {
  return formatRows([
    ['Name', s.name],
    ['Command', s.command],
    ['When', s.cron !== undefined ? `cron '${s.cron}' (${s.timezone})` : `every ${s.every}`],
    ['Paused', s.paused ? `yes${s.pauseReason ? ` (${s.pauseReason})` : ''}` : 'no'],
    ['Next run', s.nextRunAt],
    ['Last run', s.lastRunAt],
    ['Last tick', s.lastTickAt],
    ['Last task', s.lastTaskId && `${s.lastTaskId} ${s.lastTaskStatus ?? '(gone)'}`],
    ['Overlap', s.overlap],
    ['Catch up', s.catchUp],
    ['Jitter', s.jitterSeconds ? `${s.jitterSeconds}s` : undefined],
    ['Start at', s.startAt],
    ['End at', s.endAt],
    ['Priority', s.priority],
    ['Max attempts', s.maxAttempts],
    ['Payload', truncate(JSON.stringify(s.payload) ?? 'null', 100)],
    ['Runs waiting', s.pendingRuns || undefined],
  ]);
}

/** Runs `codeq schedule ...`; resolves the exit code. */
export async function runScheduleCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, SCHEDULE_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (!SUBCOMMANDS.includes(sub))
    throw new UsageError(`unknown subcommand 'schedule ${sub}' (expected ${SUBCOMMANDS.join(', ')})`);
  const { values, positionals } = parseCommandArgs(rest, OPTIONS);
  if (values.help) {
    printLine(ctx, SCHEDULE_HELP);
    return 0;
  }
  const wanted = sub === 'list' ? 0 : 1;
  if (positionals.length > wanted) throw new UsageError(`unexpected argument '${positionals[wanted]}'`);
  const name = wanted ? requirePositional(positionals, 0, 'name', `codeq schedule ${sub} <name>`) : '';
  const client = clientFor(values, ctx).schedules;
  const show = (s: ScheduleJson) => (values.json ? printJson(ctx, s) : printLine(ctx, formatSchedule(s)));
  switch (sub) {
    case 'create': {
      const body = { name, ...definition(values) } as ScheduleBody;
      if (values.paused) body.paused = true;
      show(await client.define(body));
      return 0;
    }
    case 'update': {
      const change = definition(values);
      for (const flag of parseList(values.clear)) {
        const field = CLEARABLE[flag as keyof typeof CLEARABLE];
        if (!field)
          throw new UsageError(`--clear: '${flag}' (expected ${Object.keys(CLEARABLE).join(', ')})`);
        change[field] = null;
      }
      if (Object.keys(change).length === 0) throw new UsageError('nothing to change');
      show(await client.update(name, change));
      return 0;
    }
    case 'get':
      show(await client.get(name));
      return 0;
    case 'delete':
      await client.delete(name);
      if (values.json) printJson(ctx, { deleted: name });
      else printLine(ctx, `schedule ${name} deleted`);
      return 0;
    case 'pause':
      show(await client.pause(name, values.reason));
      return 0;
    case 'resume':
      show(await client.resume(name));
      return 0;
    case 'run': {
      const { task } = await client.runNow(name);
      if (values.json) printJson(ctx, task);
      else printLine(ctx, formatTask(task));
      return 0;
    }
    case 'history': {
      const events = await client.history(name, parseIntFlag(values.limit, '--limit', { min: 1 }));
      if (values.json) printJson(ctx, events);
      else
        printLine(
          ctx,
          formatTable(
            ['SEQ', 'TIME', 'TYPE', 'ACTOR', 'DATA'],
            events.map((e) => [e.seq, e.time, e.type, e.actor, truncate(JSON.stringify(e.data), 80)]),
          ),
        );
      return 0;
    }
  }
  const all = await client.list();
  if (values.json) printJson(ctx, all);
  else if (!all.length) printLine(ctx, 'no schedules');
  else
    printLine(
      ctx,
      formatTable(
        ['NAME', 'COMMAND', 'WHEN', 'NEXT RUN', 'LAST TASK', 'STATUS'],
        all.map((s) => [
          s.name,
          s.command,
          s.cron !== undefined ? `cron ${s.cron}` : `every ${s.every}`,
          s.paused ? 'paused' : s.nextRunAt,
          s.lastTaskId,
          s.lastTaskStatus,
        ]),
      ),
    );
  return 0;
}
