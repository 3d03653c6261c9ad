/**
 * `codeq queue inspect <command>` and `codeq queue list`: queue counts from the admin API.
 */
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  parseCommandArgs,
  requirePositional,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatQueueLine, formatTable, printJson, printLine } from './output.js';

/** Help of `codeq queue`. */
const QUEUE_HELP = `Usage: codeq queue <inspect|list> [options]

  inspect <command>   one command's counts: READY: n | DELAYED: n | IN_PROGRESS: n | DLQ: n
  list                counts of every command that has tasks

${CONNECTION_HELP}`;

/** Runs `codeq queue ...`; resolves the exit code. */
export async function runQueueCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, QUEUE_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'inspect' && sub !== 'list')
    throw new UsageError(`unknown subcommand 'queue ${sub}' (expected inspect, list)`);
  const { values, positionals } = parseCommandArgs(rest, CONNECTION_OPTIONS);
  if (values.help) {
    printLine(ctx, QUEUE_HELP);
    return 0;
  }
  const client = clientFor(values, ctx);
  if (sub === 'inspect') {
    const command = requirePositional(positionals, 0, 'command', 'codeq queue inspect <command>');
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const stats = await client.queueStats(command);
    if (values.json) printJson(ctx, stats);
    else printLine(ctx, formatQueueLine(stats));
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const all = await client.listQueues();
  if (values.json) printJson(ctx, all);
  else if (!all.length) printLine(ctx, 'no queues (no command has tasks)');
  else
    printLine(
      ctx,
      formatTable(
        ['COMMAND', 'READY', 'DELAYED', 'IN_PROGRESS', 'DLQ'],
        all.map((s) => [s.command, s.ready, s.delayed, s.inProgress, s.dlq]),
      ),
    );
  return 0;
}
