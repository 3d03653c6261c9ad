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
  // The endpoint answers once at the end: the progress line shows that it is still working.
  const progress = (): void =>
    ctx.stderr(`\rrebuilding projections... ${((Date.now() - started) / 1000).toFixed(0)}s`);
  progress();
  const timer = setInterval(progress, 1000);
  try {
    const answer = await client.rebuildProjections();
    ctx.stderr(`\rrebuilt projections in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
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
    ctx.stderr('\n');
    throw err;
  } finally {
    clearInterval(timer);
  }
}
