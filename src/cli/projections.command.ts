/**
 * `codeq projections rebuild`: rebuilds the Redis projection from the event log (admin endpoint).
 */
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  clientFor,
  parseCommandArgs,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatRows, printJson, printLine } from './output.js';

/** Help of `codeq projections`. */
const PROJECTIONS_HELP = `Usage: codeq projections rebuild [options]

Flushes the Redis projection and replays the event log into it. Nothing is lost: the log is the
source of truth. Claims wait while it runs.

${CONNECTION_HELP}`;

/** Runs `codeq projections ...`; resolves the exit code. */
export async function runProjectionsCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, PROJECTIONS_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'rebuild') throw new UsageError(`unknown subcommand 'projections ${sub}' (expected rebuild)`);
  const { values, positionals } = parseCommandArgs(rest, CONNECTION_OPTIONS);
  if (values.help) {
    printLine(ctx, PROJECTIONS_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const client = clientFor(values, ctx);
  const started = Date.now();
  const seconds = (digits: number): string => ((Date.now() - started) / 1000).toFixed(digits);
  // The endpoint answers once at the end. On a terminal a counter redraws one line to show it is
  // still working; elsewhere (a pipe, a log file) each message is a line of its own.
  const terminal = ctx.stderrIsTerminal === true;
  const progress = (): void => ctx.stderr(`\rrebuilding projections... ${seconds(0)}s`);
  let timer: ReturnType<typeof setInterval> | undefined;
  if (terminal) {
    progress();
    timer = setInterval(progress, 1000);
  } else {
    ctx.stderr('rebuilding projections...\n');
  }
  try {
    const answer = await client.rebuildProjections();
    ctx.stderr(`${terminal ? '\r' : ''}rebuilt projections in ${seconds(1)}s\n`);
    if (values.json) printJson(ctx, answer);
    else
      printLine(
        ctx,
        formatRows(
          Object.entries(answer).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]),
        ),
      );
    return 0;
  } catch (err) {
    if (terminal) ctx.stderr('\n');
    throw err;
  } finally {
    clearInterval(timer);
  }
}
