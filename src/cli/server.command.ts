/**
 * `codeq server`: runs the service in the foreground until SIGINT, SIGTERM or SIGHUP (see
 * `start-service.ts`), or, when an npm script started it (`npm start`), until that npm process is
 * gone.
 */
import { SERVER_FLAGS_HELP, startService } from '../service/start-service.js';
import { UsageError, type CliContext } from './cli-args.js';
import { printLine } from './output.js';

/** Help of `codeq server`. */
const SERVER_HELP = `Usage: codeq server [options]

Starts the HTTP API. Without NATS_URL/REDIS_URL it launches its own nats-server and redis-server
(installed with apt when missing and running as root) with their data under the data dir, and,
unless tokens are configured, runs in dev mode with the public dev tokens it prints.
Stops cleanly on SIGINT, SIGTERM or SIGHUP: open long-polls are answered 204, then everything
(launched servers included) is closed. Under an npm script (npm start), also when npm goes away.

${SERVER_FLAGS_HELP}
  -h, --help          this help

Every other setting comes from a YAML config file or its environment variable (docs/configuration.md).`;

/** The signals that stop the server. SIGHUP too: a closed terminal, or `kill -HUP` of npm start. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A second stop signal within this many ms is the same request, not an impatient second one: a
 * Ctrl-C under `npm start` reaches the server twice, from the terminal and forwarded by npm.
 */
const REPEAT_IGNORED_MS = 1000;

/** How often the server checks that the npm process that started it is still there, ms. */
const PARENT_CHECK_MS = 500;

/**
 * Under an npm script (`npm start` runs `exec node dist/src/cli/main.js server`), npm passes
 * SIGINT and SIGTERM on but dies of SIGHUP (or SIGKILL) alone, which would leave this server and
 * its nats-server and redis-server running with nobody to stop them. So when npm started it, the
 * server stops once its parent changes. Only then: a server started from a shell and left running
 * (`nohup codeq server &`) must outlive that shell.
 *
 * @returns the timer (unref'd), or undefined when not started by npm.
 */
function watchNpmParent(
  env: NodeJS.ProcessEnv,
  onGone: () => void,
): ReturnType<typeof setInterval> | undefined {
  if (!env.npm_lifecycle_event) return undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, PARENT_CHECK_MS);
  timer.unref();
  return timer;
}

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
    let firstAt: number | undefined;
    const onSignal = (sig: string): void => {
      if (firstAt !== undefined) {
        if (Date.now() - firstAt < REPEAT_IGNORED_MS) return;
        ctx.stderr(`codeq: ${sig} again: exiting without waiting\n`);
        process.exit(1);
      }
      firstAt = Date.now();
      ctx.stderr(`codeq: ${sig}: shutting down\n`);
      clearInterval(parentWatch);
      service
        .stop()
        .catch((err: unknown) => ctx.stderr(`codeq: shutdown error: ${(err as Error).message}\n`))
        .finally(() => {
          for (const s of STOP_SIGNALS) process.off(s, onSignal);
          resolve();
        });
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
    const parentWatch = watchNpmParent(ctx.env, () => onSignal('npm exited'));
  });
  ctx.stderr('codeq: stopped\n');
  return 0;
}
