/**
 * Webhook test support: a real HTTP receiver on loopback that records every request, and a codeq
 * instance (engine + webhook service + HTTP server) started on one deployment, as many times as a
 * test wants (two instances = two servers sharing NATS and Redis).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { buildServer, closeServer, type CodeqServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings, type CodeqConfig } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics, engineObserver, type Metrics } from '../../src/metrics/metrics.js';
import { startWebhooks, type WebhookDeps, type WebhookService } from '../../src/webhooks/webhook-service.js';
import type { TestDeployment } from './engine.js';
import { callApi, type ApiAnswer } from './http.js';

/** One request a receiver got. */
export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: Record<string, unknown>;
  at: number;
}

/** A recording HTTP receiver. `respond` decides each answer (default 200). */
export interface Receiver {
  url: string;
  received: Received[];
  respond: (req: Received, res: ServerResponse) => void;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1. */
export async function startReceiver(): Promise<Receiver> {
  const receiver = {
    url: '',
    received: [] as Received[],
    respond: (_req: Received, res: ServerResponse) => void res.writeHead(200).end('ok'),
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // recorded as is
      }
      const item = { path: req.url ?? '', headers: req.headers, raw, body, at: Date.now() };
      receiver.received.push(item);
      receiver.respond(item, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** Static tokens of the webhook tests. */
export const TOKENS = [
  { token: 'producer-token-1', role: 'producer', subject: 'producer-1' },
  { token: 'worker-token-1', role: 'worker', subject: 'worker-1', eventTypes: ['*'] },
  { token: 'worker-token-2', role: 'worker', subject: 'worker-2', eventTypes: ['ONLY_THIS'] },
  { token: 'admin-token-1', role: 'admin', subject: 'admin-1' },
];

/** A running instance. */
export interface Instance {
  engine: Engine;
  app: CodeqServer;
  webhooks: WebhookService;
  metrics: Metrics;
  config: CodeqConfig;
  /** API base, `http://127.0.0.1:<port>/v1/codeq`. */
  base: string;
  close(): Promise<void>;
}

/** The configuration of a test instance: small intervals, loopback receivers allowed by CIDR. */
export function testConfig(d: TestDeployment, env: Record<string, string> = {}): CodeqConfig {
  return loadConfig({
    env: {
      TOKENS: JSON.stringify(TOKENS),
      LOG_LEVEL: 'silent',
      NATS_URL: d.natsUrl,
      REDIS_URL: d.redisUrl,
      STREAM_NAME: d.streamName,
      SUBJECT_PREFIX: d.subjectPrefix,
      KEY_PREFIX: d.keyPrefix,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.0/8',
      SUBSCRIPTION_MIN_INTERVAL_SECONDS: '1',
      RESULT_WEBHOOK_BASE_BACKOFF_SECONDS: '1',
      RESULT_WEBHOOK_MAX_BACKOFF_SECONDS: '4',
      RESULT_WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_TIMEOUT_SECONDS: '2',
      ...env,
    },
  });
}

/** Starts engine (background on), webhooks and HTTP server on a deployment. */
export async function startInstance(
  d: TestDeployment,
  env: Record<string, string> = {},
  tuning?: WebhookDeps['tuning'],
): Promise<Instance> {
  const config = testConfig(d, env);
  const metrics = createMetrics();
  const engine = await Engine.create({
    natsServers: d.natsUrl,
    redisUrl: d.redisUrl,
    streamName: d.streamName,
    subjectPrefix: d.subjectPrefix,
    keyPrefix: d.keyPrefix,
    settings: { ...toEngineSettings(config), sweepIntervalMs: 200 },
    observer: engineObserver(metrics),
  });
  const logger = pino({ level: process.env.WEBHOOK_TEST_LOG ?? 'silent' });
  const webhooks = await startWebhooks({ engine, config, metrics, logger, tuning });
  const app = buildServer({
    engine,
    config,
    logger: pino({ level: 'silent' }),
    metrics,
    subscriptions: webhooks.subscriptions,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/codeq`;
  return {
    engine,
    app,
    webhooks,
    metrics,
    config,
    base,
    close: async () => {
      await closeServer(app);
      await webhooks.stop();
      await engine.close();
    },
  };
}

/** An HTTP call to an instance; answers status and parsed body. */
export async function call(
  base: string,
  path: string,
  token: string,
  body?: unknown,
  method?: string,
): Promise<{ status: number; body: ApiAnswer['body'] }> {
  const { status, body: parsed } = await callApi(base, path, token, body, method);
  return { status, body: parsed };
}

/** Resolves once `check()` is true, polling every 20 ms; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sleeps `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
