/**
 * Wiring of everything webhook-related for one server instance: its own NATS and Redis
 * connections (so deliveries never queue behind the request path's traffic), the subscription
 * store, the availability notifier, the result-callback consumer and the periodic cleanup.
 * `startWebhooks` starts it; `stop()` stops it. Several instances on the same deployment share the
 * work through JetStream consumers and the Redis gate.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import type { CodeqConfig } from '../config.js';
import type { Engine } from '../engine/engine.js';
import type { EngineApi } from '../engine/engine.types.js';
import { CodeqError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { closeRedisClient, connectRedisClient, createRedisClient } from '../projections/redis-client.js';
import { AvailabilityGate } from './availability.gate.js';
import { AvailabilityNotifier } from './availability.notifier.js';
import { HttpSender } from './http-sender.js';
import { ResultCallbackConsumer } from './result-callback.consumer.js';
import { SubscriptionService } from './subscription.service.js';
import { SubscriptionStore, subscriptionBucket } from './subscription.store.js';
import { parseAllowList, type UrlPolicy } from './url-safety.js';
import { WebhookRecorder } from './webhook-recorder.js';

/** What the webhook service needs from the engine (an `Engine` satisfies it). */
export type WebhookEngine = Pick<EngineApi, 'queueStats' | 'getTask'> &
  Pick<Engine, 'resultWebhookOf' | 'recordWebhookOutcome'>;

/** Dependencies of {@link startWebhooks}. */
export interface WebhookDeps {
  /** The instance's engine. */
  engine: WebhookEngine;
  /**
   * The configuration: `natsUrl` and `redisUrl` (required), stream/prefix names, the
   * `subscription*`, `resultWebhook*` and `webhook*` keys, `devMode` (allows loopback callbacks).
   */
  config: CodeqConfig;
  /** Metrics (`codeq_webhook_deliveries_total`); optional. */
  metrics?: Metrics | undefined;
  /** Root logger; default silent. */
  logger?: Logger | undefined;
  /** Tuning for tests: due-poll period (ms, default 100) and which parts run (default all). */
  tuning?: { pollMs?: number; availability?: boolean; results?: boolean; cleanup?: boolean };
}

/** A running webhook service. */
export interface WebhookService {
  /** Subscription operations for the HTTP routes (`buildServer({ subscriptions })`). */
  readonly subscriptions: SubscriptionService;
  /** Runs the expired-subscription cleanup now (also runs every `subscriptionCleanupIntervalSeconds`). */
  cleanupNow(): Promise<{ removed: number; orphans: number }>;
  /** Stops deliveries (in-flight ones finish), the cleanup, and closes its connections. Idempotent. */
  stop(): Promise<void>;
}

/** The URL policy of a configuration. */
function urlPolicy(config: CodeqConfig): UrlPolicy {
  return { allow: parseAllowList(config.webhookAllowedHosts), allowLoopback: config.devMode };
}

/** Starts the webhook service of one server instance. */
export async function startWebhooks(deps: WebhookDeps): Promise<WebhookService> {
  const { config, engine, metrics } = deps;
  const logger = (deps.logger ?? pino({ level: 'silent' })).child({ component: 'webhooks' });
  if (!config.natsUrl || !config.redisUrl) {
    throw new CodeqError('INVALID_INPUT', 'webhooks need natsUrl and redisUrl in the configuration');
  }
  const policy = urlPolicy(config);
  const nc = await connect({
    servers: config.natsUrl.split(',').map((s) => s.trim()),
    name: 'codeq-webhooks',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  }).catch((err: unknown) => {
    throw new CodeqError('UNAVAILABLE', 'webhooks: cannot connect to NATS', { cause: err });
  });
  const redis = createRedisClient({
    url: config.redisUrl,
    dependencyTimeoutMs: config.dependencyTimeoutMs,
    onError: (err) => logger.warn({ err: err.message }, 'redis connection error'),
  });
  const closers: Array<() => Promise<unknown>> = [
    async () => nc.drain().catch(() => nc.close()),
    async () => closeRedisClient(redis),
  ];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    await connectRedisClient(redis, config.redisUrl);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const store = await SubscriptionStore.open(
      nc,
      subscriptionBucket(config.streamName),
      config.streamReplicas,
    );
    const gate = new AvailabilityGate(redis, config.keyPrefix);
    const timeoutMs = config.webhookTimeoutSeconds * 1000;
    const senderOptions = {
      policy,
      timeoutMs,
      maxConcurrency: config.webhookMaxConcurrency,
      hmacSecret: config.webhookHmacSecret,
    };
    const subscriptions = new SubscriptionService({
      store,
      jsm,
      stream: config.streamName,
      subjectPrefix: config.subjectPrefix,
      gate,
      settings: { defaultMinIntervalSeconds: config.subscriptionMinIntervalSeconds, policy },
      logger,
    });
    const tuning = deps.tuning ?? {};
    if (tuning.availability !== false) {
      const notifier = new AvailabilityNotifier({
        nc,
        js,
        jsm,
        stream: config.streamName,
        subjectPrefix: config.subjectPrefix,
        store,
        gate,
        // A separate sender per kind: a flood of one kind never starves the other.
        sender: new HttpSender(senderOptions),
        queueStats: (c) => engine.queueStats(c),
        metrics,
        logger,
        pollMs: tuning.pollMs,
      });
      await notifier.start();
      closers.push(() => notifier.stop());
    }
    if (tuning.results !== false) {
      const recorder = new WebhookRecorder({ engine, logger });
      const results = new ResultCallbackConsumer({
        js,
        jsm,
        stream: config.streamName,
        subjectPrefix: config.subjectPrefix,
        webhookOf: (command, taskId) => engine.resultWebhookOf(command, taskId),
        sender: new HttpSender(senderOptions),
        recorder,
        settings: {
          maxAttempts: config.resultWebhookMaxAttempts,
          baseBackoffSeconds: config.resultWebhookBaseBackoffSeconds,
          maxBackoffSeconds: config.resultWebhookMaxBackoffSeconds,
          timeoutMs,
          maxConcurrency: config.webhookMaxConcurrency,
        },
        metrics,
        logger,
      });
      await results.start();
      closers.push(() => results.stop());
    }
    if (tuning.cleanup !== false) {
      const periodMs = config.subscriptionCleanupIntervalSeconds * 1000;
      const timer = setInterval(() => {
        // One instance per period does it (a lease in Redis); running twice would be harmless.
        void gate
          .tryLease('cleanup', periodMs - 100)
          .then((lead) => (lead ? subscriptions.cleanup() : undefined))
          .catch((err: unknown) => logger.warn({ err }, 'subscription cleanup failed'));
      }, periodMs);
      closers.push(async () => clearInterval(timer));
    }
    let stopping: Promise<void> | undefined;
    logger.info(
      { allowedHosts: config.webhookAllowedHosts, signed: config.webhookHmacSecret !== '' },
      'webhooks started',
    );
    return {
      subscriptions,
      cleanupNow: () => subscriptions.cleanup(),
      stop: () => (stopping ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
