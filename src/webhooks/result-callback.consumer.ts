/**
 * Result callbacks (design §7), driven from the log: one durable pull consumer over the whole task
 * stream, shared by every server instance (each event goes to one of them). A terminal event
 * (`completed`, `failed`, `dlq`, `cancelled`) of a task with a webhook is POSTed; a 2xx acks it;
 * anything else naks it with the contract's delay min(base · 2^(i-1), max) where i is JetStream's
 * delivery count, so retries are timed and counted by the server and survive any restart; after
 * `resultWebhookMaxAttempts` tries the message is terminated. Outcomes go to the metric, a log line
 * and the task's history.
 */
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { decodeStoredEvent } from '../events/event-codec.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import type { Metrics } from '../metrics/metrics.js';
import type { HttpSender } from './http-sender.js';
import type { WebhookRecorder } from './webhook-recorder.js';

/** Durable name of the shared result-callback consumer. */
const RESULT_CONSUMER = 'codeq_result_callbacks';

const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'dlq', 'cancelled']);

/** The result callback body: the contract's fields, plus `deliveryId` and `state`. */
export interface ResultCallbackBody {
  /** The task. */
  taskId: string;
  /** The task's command. */
  eventType: string;
  /** `COMPLETED`, `FAILED` (failed result or dead-lettered) or `CANCELLED`. */
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  /** The worker's result (completed), else null. */
  result: unknown;
  /** The error (failed), the dead-letter reason, or the cancel reason; null otherwise. */
  error: string | null;
  /** Artifacts `{name, url}` of the result; [] when none. */
  artifacts: Array<{ name: string; url?: string | undefined }>;
  /** When the task reached its terminal state, RFC 3339. */
  completedAt: string;
  /** Stable id of this callback (`<taskId>:<sequence of the terminal event>`); same on every retry. */
  deliveryId: string;
  /** Machine state: `completed`, `failed`, `deadLettered` or `cancelled`. */
  state: 'completed' | 'failed' | 'deadLettered' | 'cancelled';
}

/** Settings of the consumer (from the configuration). */
export interface ResultCallbackSettings {
  /** `resultWebhookMaxAttempts` (default 5). */
  maxAttempts: number;
  /** `resultWebhookBaseBackoffSeconds` (default 2 s). */
  baseBackoffSeconds: number;
  /** `resultWebhookMaxBackoffSeconds` (default 60 s). */
  maxBackoffSeconds: number;
  /** Request deadline, ms; the consumer's ack wait is this plus 30 s. */
  timeoutMs: number;
  /** Callbacks handled at once per instance (`webhookMaxConcurrency`). */
  maxConcurrency: number;
}

/** Dependencies of a {@link ResultCallbackConsumer}. */
export interface ResultCallbackDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subjectPrefix: string;
  /** The task's webhook URL, if any. */
  webhookOf: (command: string, taskId: string) => Promise<string | undefined>;
  sender: HttpSender;
  recorder: WebhookRecorder;
  settings: ResultCallbackSettings;
  metrics?: Metrics | undefined;
  logger: Logger;
}

/** Delay before retry `attempt + 1` after failed try `attempt` (1-based), seconds. */
export function retryDelaySeconds(attempt: number, base: number, max: number): number {
  return Math.min(base * 2 ** (attempt - 1), max);
}

/** The callback body of a terminal event. */
function resultBody(event: StoredTaskEvent): ResultCallbackBody {
  const base = {
    taskId: event.taskId,
    eventType: event.command,
    completedAt: new Date(event.at).toISOString(),
    deliveryId: `${event.taskId}:${event.seq}`,
    result: null as unknown,
    error: null as string | null,
    artifacts: [] as ResultCallbackBody['artifacts'],
  };
  switch (event.type) {
    case 'completed':
      return {
        ...base,
        status: 'COMPLETED',
        state: 'completed',
        result: event.data.result ?? null,
        artifacts: (event.data.artifacts ?? []).map((a) => ({ name: a.name, url: a.url })),
      };
    case 'failed':
      return {
        ...base,
        status: 'FAILED',
        state: 'failed',
        error: event.data.error,
        artifacts: (event.data.artifacts ?? []).map((a) => ({ name: a.name, url: a.url })),
      };
    case 'dlq':
      return {
        ...base,
        status: 'FAILED',
        state: 'deadLettered',
        error: event.data.reason ?? (event.data.cause === 'leaseExpired' ? 'LEASE_EXPIRED' : 'nacked'),
      };
    default:
      return {
        ...base,
        status: 'CANCELLED',
        state: 'cancelled',
        error: event.type === 'cancelled' ? (event.data.reason ?? null) : null,
      };
  }
}

/** Sends result callbacks from the log. */
export class ResultCallbackConsumer {
  private messages: { close(): Promise<void | Error> } | undefined;
  private loop: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: ResultCallbackDeps) {}

  /** Creates the durable consumer (idempotent) and starts consuming. */
  async start(): Promise<void> {
    const { jsm, js, stream, subjectPrefix, settings } = this.deps;
    await jsm.consumers.add(stream, {
      durable_name: RESULT_CONSUMER,
      filter_subject: `${subjectPrefix}.>`,
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(settings.timeoutMs + 30_000),
      max_deliver: -1,
      max_ack_pending: 10_000,
    });
    const consumer = await js.consumers.get(stream, RESULT_CONSUMER);
    const messages = await consumer.consume({ max_messages: 512 });
    this.messages = messages;
    this.loop = (async () => {
      for await (const msg of messages) {
        if (this.stopped) break;
        // Backpressure: at most maxConcurrency callbacks in hand; the rest waits in JetStream.
        while (this.inflight.size >= settings.maxConcurrency) await Promise.race(this.inflight);
        const handling = this.handle(msg).finally(() => this.inflight.delete(handling));
        this.inflight.add(handling);
      }
    })().catch((err: unknown) => this.deps.logger.error({ err }, 'result callback consumer stopped'));
  }

  /** Stops consuming and waits for callbacks in flight (unacked ones are redelivered later). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
    await Promise.allSettled([...this.inflight]);
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { settings, metrics, logger, recorder } = this.deps;
    let event: StoredTaskEvent;
    try {
      event = decodeStoredEvent(msg.data, msg.seq, msg.subject, this.deps.subjectPrefix);
    } catch (err) {
      logger.warn({ err, seq: msg.seq }, 'undecodable event skipped by result callbacks');
      return msg.ack();
    }
    if (!TERMINAL.has(event.type)) return msg.ack();
    let url: string | undefined;
    try {
      url = await this.deps.webhookOf(event.command, event.taskId);
    } catch (err) {
      logger.warn({ err, taskId: event.taskId }, 'cannot look up the webhook; retrying');
      return msg.nak(1000);
    }
    if (url === undefined) return msg.ack();
    const body = resultBody(event);
    const attempt = msg.info.deliveryCount;
    const outcome = await this.deps.sender.send({
      url,
      body: JSON.stringify(body),
      headers: {
        'X-CodeQ-Delivery-Id': body.deliveryId,
        'X-CodeQ-Webhook': 'result',
        'X-CodeQ-Attempt': String(attempt),
      },
    });
    const line = {
      taskId: event.taskId,
      command: event.command,
      deliveryId: body.deliveryId,
      attempt,
      ms: outcome.ms,
    };
    if (outcome.ok) {
      metrics?.webhookDeliveries.inc({ kind: 'result', outcome: 'delivered' });
      logger.info({ ...line, status: outcome.status }, 'result callback delivered');
      await recorder.record(event.command, event.taskId, {
        type: 'recordWebhookDelivered',
        data: { deliveryId: body.deliveryId, attempts: attempt, httpStatus: outcome.status },
      });
      return msg.ack();
    }
    if (!outcome.refused && attempt < settings.maxAttempts) {
      const delay = retryDelaySeconds(attempt, settings.baseBackoffSeconds, settings.maxBackoffSeconds);
      metrics?.webhookDeliveries.inc({ kind: 'result', outcome: 'retry' });
      logger.warn(
        { ...line, error: outcome.error, retryInSeconds: delay },
        'result callback failed; will retry',
      );
      return msg.nak(delay * 1000);
    }
    metrics?.webhookDeliveries.inc({ kind: 'result', outcome: outcome.refused ? 'refused' : 'gave_up' });
    logger.error({ ...line, error: outcome.error }, 'result callback given up');
    await recorder.record(event.command, event.taskId, {
      type: 'recordWebhookGaveUp',
      data: { deliveryId: body.deliveryId, attempts: attempt, error: outcome.error.slice(0, 4096) },
    });
    msg.term(outcome.error.slice(0, 200));
  }
}
