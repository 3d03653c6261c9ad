/**
 * `codeq server`: runs the service in the foreground until SIGINT/SIGTERM (see `start-service.ts`).
 */
import { SERVER_FLAGS_HELP, startService } from '../service/start-service.js';
import { UsageError, type CliContext } from './cli-args.js';
import { printLine } from './output.js';

/** Help of `codeq server`. */
const SERVER_HELP = `Usage: codeq server [options]

Starts the HTTP API. Without NATS_URL/REDIS_URL it launches its own nats-server and redis-server
(installed with apt when missing and running as root) with their data under the data dir, and,
unless tokens are configured, runs in dev mode with the public dev tokens it prints.
Stops cleanly on SIGINT/SIGTERM: open long-polls are answered 204, then everything is closed.

${SERVER_FLAGS_HELP}
  -h, --help          this help

Every other setting comes from a YAML config file or its environment variable (docs/configuration.md).`;

/** Runs `codeq server`; resolves the exit code once the service has stopped. */
export async function runServerCommand(args: string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    printLine(ctx, SERVER_HELP);
    return 0;
  }
  if (args[0] === 'start') args = args.slice(1); // `codeq server start` reads naturally too
  let service;
  try {
    service = await startService({ argv: args, env: ctx.env, print: (line) => printLine(ctx, line) });
  } catch (err) {
    // Flag mistakes are usage errors; everything else (ports, binaries, auth config) is operational.
    if (err instanceof Error && /^Unknown option|^Option '|argument/i.test(err.message))
      throw new UsageError(err.message);
    throw err;
  }
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        ctx.stderr(`codeq: ${sig} again: exiting without waiting\n`);
        process.exit(1);
      }
      ctx.stderr(`codeq: ${sig}: shutting down\n`);
      service
        .stop()
        .catch((err: unknown) => ctx.stderr(`codeq: shutdown error: ${(err as Error).message}\n`))
        .finally(() => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  ctx.stderr('codeq: stopped\n');
  return 0;
}
