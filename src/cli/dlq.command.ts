/**
 * `codeq dlq list <command>` and `codeq dlq requeue <command> [--id ...]`: the dead-letter queue.
 */
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  parseCommandArgs,
  parseIntFlag,
  parseList,
  requirePositional,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatTable, printJson, printLine, truncate } from './output.js';

/** Help of `codeq dlq`. */
const DLQ_HELP = `Usage: codeq dlq <list|requeue> <command> [options]

  list <command>       dead-lettered tasks, oldest first
      --limit <n>      page size (default: server's)
      --cursor <c>     page to show (printed after each page)
      --all            every page
  requeue <command>    send dead-lettered tasks back to the queue, attempts reset
      --id <id>        only these tasks (repeat or comma separate); default: all of the command's DLQ

${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  id: { type: 'string', multiple: true },
  ids: { type: 'string', multiple: true },
} as const;

/** Runs `codeq dlq ...`; resolves the exit code. */
export async function runDlqCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, DLQ_HELP);
    return sub === undefined ? 2 : 0;
  }
  // `retry` is the design's word for the same thing.
  if (sub !== 'list' && sub !== 'requeue' && sub !== 'retry')
    throw new UsageError(`unknown subcommand 'dlq ${sub}' (expected list, requeue)`);
  const { values, positionals } = parseCommandArgs(rest, OPTIONS);
  if (values.help) {
    printLine(ctx, DLQ_HELP);
    return 0;
  }
  const command = requirePositional(positionals, 0, 'command', `codeq dlq ${sub} <command>`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const client = clientFor(values, ctx);
  if (sub === 'list') {
    if (values.id || values.ids) throw new UsageError('--id is for dlq requeue');
    const limit = parseIntFlag(values.limit, '--limit', { min: 1 });
    let cursor = values.cursor;
    for (;;) {
      const page = await client.listDlq(command, {
        ...(cursor ? { cursor } : {}),
        ...(limit ? { limit } : {}),
      });
      if (values.json) printJson(ctx, page);
      else if (!page.tasks.length && !cursor) printLine(ctx, `DLQ of ${command} is empty`);
      else {
        const rows = page.tasks.map((t) => [t.id, t.attempts, t.updatedAt, truncate(t.error ?? '', 60)]);
        printLine(ctx, formatTable(['ID', 'ATTEMPTS', 'UPDATED', 'ERROR'], rows));
        const more = page.nextCursor ? ` (next page: --cursor ${page.nextCursor})` : '';
        printLine(ctx, `${page.tasks.length} of ${page.total} dead-lettered${more}`);
      }
      if (!values.all || !page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return 0;
  }
  if (values.limit || values.cursor || values.all)
    throw new UsageError('--limit, --cursor, --all are for dlq list');
  const ids = parseList(values.id, values.ids);
  const answer = await client.requeueDlq(command, ids.length ? ids : undefined);
  if (values.json) printJson(ctx, answer);
  else printLine(ctx, `requeued ${answer.requeued} task(s) of ${command}`);
  return 0;
}
