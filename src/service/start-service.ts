/**
 * The one-command start (`codeq server`, `npm start`): loads the configuration, launches a local
 * nats-server and redis-server when no URLs are configured, creates the engine, and serves the HTTP
 * API. With local servers and no configured credentials it runs in dev mode and says so loudly.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { createAuthenticator } from '../api/auth/authenticator.js';
import { closeServer, buildServer } from '../api/server.js';
import {
  DEV_TOKENS,
  assertAuthConfigured,
  loadConfig,
  toEngineSettings,
  type CodeqConfig,
} from '../config.js';
import { Engine } from '../engine/engine.js';
import { CodeqError } from '../errors.js';
import { LocalServer } from '../local/local-servers.js';
import { createMetrics, engineObserver } from '../metrics/metrics.js';
import { serveNatsInterface } from '../nats/nats-interface.js';
import { startWebhooks } from '../webhooks/webhook-service.js';

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** Flags of `codeq server` (see {@link SERVER_FLAGS_HELP}); default none. */
  argv?: readonly string[];
  /** Environment (config overrides such as `PORT`, `NATS_URL`); default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the banner (URL, tokens, dev-mode warning) goes; default standard output. */
  print?: (line: string) => void;
  /** Root logger; default pino at the configured level on standard output. */
  logger?: Logger;
}

/** A running service. */
export interface RunningService {
  /** Base URL clients use, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The effective configuration (with local URLs and dev mode filled in). */
  config: CodeqConfig;
  /** PIDs of the servers this start launched (absent when URLs were configured). */
  localPids: { nats?: number | undefined; redis?: number | undefined };
  /** Closes the HTTP server (long-polls answered 204), the engine, then the local servers. Idempotent. */
  stop(): Promise<void>;
}

/** Help lines of the flags {@link startService} understands. */
export const SERVER_FLAGS_HELP = `  --port <n>          HTTP port (env PORT; default 8080; 0 = any free port)
  --host <addr>       listen address (env HOST; default 127.0.0.1)
  --nats-url <url>    NATS server(s) (env NATS_URL); unset: launch a local nats-server
  --redis-url <url>   Redis (env REDIS_URL); unset: launch a local redis-server
  --data-dir <path>   local data: launched servers' files, artifacts (env DATA_DIR; default ./.codeq)
  --config <path>     YAML config file (env CODEQ_CONFIG)
  --dev               accept the public dev tokens (automatic for a local start without tokens)
  --log-level <lvl>   fatal, error, warn, info (default), debug, trace, silent (env LOG_LEVEL)`;

/** Flags of `codeq server` that become environment overrides of the same config keys. */
const FLAG_TO_ENV = {
  port: 'PORT',
  host: 'HOST',
  'nats-url': 'NATS_URL',
  'redis-url': 'REDIS_URL',
  'data-dir': 'DATA_DIR',
  'log-level': 'LOG_LEVEL',
} as const;

/** Reads `codeq server` flags into `loadConfig` input (flags win over the environment). */
function serverConfigInput(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { argv: string[]; env: Record<string, string | undefined> } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'nats-url': { type: 'string' },
        'redis-url': { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        config: { type: 'string' },
        dev: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new CodeqError('INVALID_INPUT', (err as Error).message.split('. To specify')[0]!);
  }
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, name] of Object.entries(FLAG_TO_ENV)) {
    const v = values[flag];
    if (typeof v === 'string') merged[name] = v;
  }
  const configArgv: string[] = [];
  if (typeof values.config === 'string') configArgv.push('--config', values.config);
  if (values.dev) configArgv.push('--dev');
  return { argv: configArgv, env: merged };
}

/** Starts the service; resolves once it listens. On failure everything started so far is stopped. */
export async function startService(options: StartServiceOptions = {}): Promise<RunningService> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const input = serverConfigInput(options.argv ?? [], options.env ?? process.env);
  let config = loadConfig(input);
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'codeq' } });
  const cleanups: Array<() => Promise<void>> = [];
  const runCleanups = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
    }
  };

  try {
    const local: { nats?: LocalServer; redis?: LocalServer } = {};
    if (!config.natsUrl || !config.redisUrl) {
      const dataDir = resolve(config.dataDir);
      mkdirSync(dataDir, { recursive: true });
      cleanups.push(lockDataDir(dataDir));
      const log = (line: string): void => print(`codeq: ${line}`);
      if (!config.natsUrl) {
        const nats = new LocalServer({ kind: 'nats', dataDir: join(dataDir, 'nats'), log });
        cleanups.push(() => nats.stop());
        local.nats = await nats.start();
      }
      if (!config.redisUrl) {
        // Append-only file on, so a restart of the service keeps the projection (no full rebuild).
        const redis = new LocalServer({
          kind: 'redis',
          dataDir: join(dataDir, 'redis'),
          redisAppendOnly: true,
          log,
        });
        cleanups.push(() => redis.stop());
        local.redis = await redis.start();
      }
      const noCredentials = config.tokens.length === 0 && !config.identityJwksUrl && !config.workerJwksUrl;
      config = {
        ...config,
        natsUrl: config.natsUrl ?? local.nats?.url,
        redisUrl: config.redisUrl ?? local.redis?.url,
        devMode: config.devMode || noCredentials,
      };
      // Children must not outlive a crashed parent: kill them on any exit.
      const onExit = (): void => {
        for (const s of [local.nats, local.redis]) if (s?.pid && s.running) process.kill(s.pid, 'SIGTERM');
      };
      process.on('exit', onExit);
      cleanups.push(async () => void process.off('exit', onExit));
    }

    // Fail before connecting anywhere when the server would accept no credentials at all.
    assertAuthConfigured(config);
    const metrics = createMetrics();
    const natsServers = config.natsUrl!.split(',').map((s) => s.trim());
    const engine = await Engine.create({
      natsServers,
      redisUrl: config.redisUrl!,
      streamName: config.streamName,
      subjectPrefix: config.subjectPrefix,
      keyPrefix: config.keyPrefix,
      streamReplicas: config.streamReplicas,
      streamMaxAgeMs: config.streamMaxAgeSeconds * 1000,
      dependencyTimeoutMs: config.dependencyTimeoutMs,
      settings: toEngineSettings(config),
      artifactsDir: config.localArtifactsDir,
      logger,
      observer: engineObserver(metrics),
    });
    cleanups.push(() => engine.close());
    // Configured limits are control events like an operator's: written only when they change something.
    for (const [command, patch] of Object.entries(config.queueLimits)) {
      await engine.controlQueue(command, { type: 'setLimits', patch }, 'system:config');
    }
    // Cleanups run in reverse: the HTTP server closes first, then the NATS interface, webhooks, and
    // the engine last.
    const webhooks = await startWebhooks({ engine, config, metrics, logger });
    cleanups.push(() => webhooks.stop());

    const authenticator = createAuthenticator(config);
    if (config.natsApiEnabled) {
      const natsApi = await serveNatsInterface(natsServers, {
        engine,
        authenticator,
        config,
        logger,
        metrics,
      });
      cleanups.push(() => natsApi.stop());
    }

    const app = await buildServer({
      engine,
      config,
      logger,
      metrics,
      authenticator,
      subscriptions: webhooks.subscriptions,
    });
    cleanups.push(() => closeServer(app));
    await app.listen({ port: config.port, host: config.host }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
      throw new CodeqError(
        'UNAVAILABLE',
        `cannot listen on ${config.host}:${config.port} (${err.code}); free the port or pick another with --port or PORT`,
        { cause: err },
      );
    });
    const url = publicUrl(app.server.address(), config.host);
    printBanner(print, url, config, local);

    let stopping: Promise<void> | undefined;
    return {
      url,
      config,
      localPids: { nats: local.nats?.pid, redis: local.redis?.pid },
      stop: () => (stopping ??= runCleanups()),
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

/** The URL to print: a wildcard listen address is reached through loopback. */
function publicUrl(address: AddressInfo | string | null, host: string): string {
  if (!address || typeof address === 'string') return `http://${host}`;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const h = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${h}:${address.port}`;
}

function printBanner(
  print: (line: string) => void,
  url: string,
  config: CodeqConfig,
  local: { nats?: LocalServer; redis?: LocalServer },
): void {
  print(`codeq listening on ${url} (pid ${process.pid})`);
  const where = (s: LocalServer | undefined, name: string, sub: string): string =>
    s ? `local ${name} (pid ${s.pid}, data in ${join(config.dataDir, sub)})` : 'configured';
  print(`  NATS:  ${config.natsUrl}  ${where(local.nats, 'nats-server', 'nats')}`);
  print(`  Redis: ${config.redisUrl}  ${where(local.redis, 'redis-server', 'redis')}`);
  if (config.devMode) {
    print('  DEV MODE: the public dev tokens below are accepted. Do not expose this server;');
    print('  configure `tokens` (or JWKS) in a config file for anything else.');
    for (const t of DEV_TOKENS) print(`    ${`${t.role}:`.padEnd(10)}${t.token}`);
    print(`  try:  export CODEQ_BASE_URL=${url} CODEQ_PRODUCER_TOKEN=dev-producer-token \\`);
    print('          CODEQ_WORKER_TOKEN=dev-worker-token CODEQ_ADMIN_TOKEN=dev-admin-token');
    if (config.host !== '127.0.0.1' && config.host !== 'localhost' && config.host !== '::1')
      print(
        `  WARNING: dev mode while listening on ${config.host}: anyone who can reach it has admin rights.`,
      );
  }
  if (config.tokens.length)
    print(`  static tokens: ${config.tokens.map((t) => `${t.role}/${t.subject}`).join(', ')}`);
}

/**
 * Claims the data dir with a pid file: two services launching servers on the same files would
 * corrupt them. A pid file of a dead process is taken over.
 */
function lockDataDir(dataDir: string): () => Promise<void> {
  const file = join(dataDir, 'codeq.pid');
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid))
      throw new CodeqError(
        'UNAVAILABLE',
        `another codeq (pid ${pid}) is using ${dataDir}; stop it or use --data-dir`,
      );
  } catch (err) {
    if (err instanceof CodeqError) throw err;
  }
  writeFileSync(file, String(process.pid));
  return async () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
