#!/usr/bin/env node
/**
 * Entry point of the `codeq` CLI: routes `codeq <group> <subcommand>` to its module and turns errors
 * into messages on stderr and exit codes (2 usage, 1 operation).
 */
import { isCodeqError } from '../errors.js';
import { UsageError, type CliContext } from './cli-args.js';
import { runDlqCommand } from './dlq.command.js';
import { runEventsCommand } from './events.command.js';
import { runProjectionsCommand } from './projections.command.js';
import { runQueueCommand } from './queue.command.js';
import { runScheduleCommand } from './schedule.command.js';
import { runTaskCommand } from './task.command.js';
import { runWorkerCommand } from './worker.command.js';

/** Top-level help. */
const MAIN_HELP = `Usage: codeq <command> [options]

  server                         start the service (launches NATS and Redis when none are configured)
  task create|get|result|history|cancel
  worker start                   run a shell command per claimed task
  queue inspect|list|pause|resume|limits|controls
                                 queue counts, health, pause and limits
  dlq list|requeue <command>     dead-letter queue
  schedule create|list|get|update|delete|pause|resume|run|history
                                 recurring tasks (cron or interval)
  projections rebuild            rebuild the Redis projection from the event log
  events replay|tail             stream the event log as JSON lines

Run 'codeq <command> --help' for options. Connection: --base-url/CODEQ_BASE_URL, --token or
CODEQ_PRODUCER_TOKEN/CODEQ_WORKER_TOKEN/CODEQ_ADMIN_TOKEN, or a profile (~/.codeq/profile.json).`;

const GROUPS: Record<string, (args: string[], ctx: CliContext) => Promise<number>> = {
  // Loaded on demand: the server pulls in fastify, NATS and Redis, which client commands never need.
  server: async (args, ctx) => (await import('./server.command.js')).runServerCommand(args, ctx),
  task: runTaskCommand,
  worker: runWorkerCommand,
  queue: runQueueCommand,
  dlq: runDlqCommand,
  schedule: runScheduleCommand,
  projections: runProjectionsCommand,
  events: runEventsCommand,
};

/** The variable that holds each role's token (docs/cli.md). */
const TOKEN_VARIABLES: Readonly<Record<string, string>> = {
  producer: 'CODEQ_PRODUCER_TOKEN',
  worker: 'CODEQ_WORKER_TOKEN',
  admin: 'CODEQ_ADMIN_TOKEN',
};

/** For a refused token, what to set: the role's variable, `--token`, or the profile's entry. */
function credentialsHint(code: string, details: Record<string, unknown> | undefined): string {
  if (code !== 'UNAUTHORIZED') return '';
  const role = typeof details?.role === 'string' ? details.role : undefined;
  const variable = role ? TOKEN_VARIABLES[role] : undefined;
  return variable
    ? ` (the ${role} token is missing or not accepted: set ${variable}, pass --token, or set tokens.${role} in the profile)`
    : ' (set the token: --token, CODEQ_*_TOKEN or the profile)';
}

/** Runs the CLI with `args` (without node and script); resolves the exit code. */
async function runCli(args: string[], ctx: CliContext): Promise<number> {
  const [group, ...rest] = args;
  try {
    if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
      ctx.stdout(`${MAIN_HELP}\n`);
      return group === undefined ? 2 : 0;
    }
    const run = GROUPS[group];
    if (!run) throw new UsageError(`unknown command '${group}'`);
    return await run(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr(
        `codeq: ${err.message}\nRun 'codeq ${group && GROUPS[group] ? `${group} ` : ''}--help' for usage.\n`,
      );
      return 2;
    }
    if (isCodeqError(err)) {
      const status = typeof err.details?.status === 'number' ? ` (HTTP ${err.details.status})` : '';
      ctx.stderr(`codeq: ${err.code}${status}: ${err.message}${credentialsHint(err.code, err.details)}\n`);
      return 1;
    }
    ctx.stderr(
      `codeq: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTerminal: process.stderr.isTTY === true,
});
// Explicit exit: idle keep-alive sockets and timers must not hold a finished command open.
process.exit(code);
