/**
 * `codeq task cancel`: one task by id, or, with `--command`, every live task of a command that
 * matches the filter flags, as one admin operation (`POST /admin/tasks/cancel`).
 */
import type { CancelFilterJson } from '../client/http-client.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  taskClientFor,
  parseCommandArgs,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatRows, formatTask, printJson, printLine } from './output.js';

/** Help of `codeq task cancel`. */
export const CANCEL_HELP = `Usage: codeq task cancel <id> [--reason <text>]
       codeq task cancel --command <name> [filters] [--reason <text>] [--dry-run]

  With an id: cancels that pending or running task (a running task's worker is told at its next
  heartbeat; its result is refused). With --command (admin token): cancels every pending or
  running task of the command that matches the filters, as one operation whose id every
  'cancelled' event carries.

  --command <name>            the command (queue) to cancel in
  --state <pending|inProgress>  only waiting or only running tasks (default both)
  --group-key <key>           only tasks enqueued with this group key
  --created-before <RFC3339>  only tasks created before this time
  --created-after <RFC3339>   only tasks created at or after this time
  --dry-run                   count the matching tasks, cancel nothing
  --reason <text>             recorded in every event (and as each task's error)

${CONNECTION_HELP}`;

const CANCEL_OPTIONS = {
  ...CONNECTION_OPTIONS,
  reason: { type: 'string' },
  command: { type: 'string' },
  state: { type: 'string' },
  'group-key': { type: 'string' },
  'created-before': { type: 'string' },
  'created-after': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

const FILTER_FLAGS = ['state', 'group-key', 'created-before', 'created-after', 'dry-run'] as const;

/** The bulk filter of the flags (exported for tests). */
export function parseCancelFilter(values: Record<string, unknown>): CancelFilterJson {
  const filter: CancelFilterJson = { command: String(values.command) };
  const state = values.state;
  if (state !== undefined) {
    if (state !== 'pending' && state !== 'inProgress')
      throw new UsageError(`--state: '${String(state)}' is not pending or inProgress`);
    filter.state = state;
  }
  if (values['group-key'] !== undefined) filter.groupKey = String(values['group-key']);
  for (const [flag, key] of [
    ['created-before', 'createdBefore'],
    ['created-after', 'createdAfter'],
  ] as const) {
    const text = values[flag];
    if (text === undefined) continue;
    if (Number.isNaN(Date.parse(String(text))))
      throw new UsageError(`--${flag}: '${String(text)}' is not an RFC3339 time`);
    filter[key] = String(text);
  }
  return filter;
}

/** Runs `codeq task cancel ...`; resolves the exit code. */
export async function runCancelCommand(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, CANCEL_OPTIONS);
  if (values.help) {
    printLine(ctx, CANCEL_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const [id] = positionals;
  if (id !== undefined && values.command !== undefined)
    throw new UsageError('give a task id or --command, not both');
  if (id !== undefined) {
    const flag = FILTER_FLAGS.find((f) => values[f] !== undefined);
    if (flag) throw new UsageError(`--${flag} is for a bulk cancel (--command) only`);
    const task = await (await taskClientFor(values, ctx)).cancel(id, values.reason);
    if (values.json) printJson(ctx, task);
    else printLine(ctx, formatTask(task));
    return 0;
  }
  if (values.command === undefined)
    throw new UsageError(
      'give a task id, or --command <name> to cancel by filter (codeq task cancel --help)',
    );
  const out = await clientFor(values, ctx).cancelTasks(parseCancelFilter(values), {
    ...(values.reason === undefined ? {} : { reason: values.reason }),
    ...(values['dry-run'] ? { dryRun: true } : {}),
  });
  if (values.json) printJson(ctx, out);
  else
    printLine(
      ctx,
      out.dryRun
        ? `${out.matched} task(s) of ${values.command} match; nothing cancelled (dry run)`
        : formatRows([
            ['operationId', out.operationId],
            ['matched', out.matched],
            ['cancelled', out.cancelled],
          ]),
    );
  return 0;
}
