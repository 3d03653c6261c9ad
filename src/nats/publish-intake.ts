/**
 * The publish intake: a producer that wants no reply publishes a create body to
 * `<natsApiPrefix>.v1.publish.<command>` (plain `nc.publish`, the token in the `Authorization`
 * header). The stream `<streamName>_INTAKE` (work queue, file storage), created by any codeq
 * instance and kept, persists it while no instance runs; every instance pulls from one shared
 * durable consumer, enqueues, then acks. At least once: a message redelivered after its enqueue
 * (an instance died before its ack) enqueues nothing new, as its idempotency key (the body's, else
 * one derived from the intake sequence) returns the first task. An invalid or refused message is
 * terminated, logged and counted (`codeq_nats_intake_messages_total{outcome="rejected"}`): it
 * never blocks the intake. A dependency outage is retried (`nak` with a delay).
 */
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { Match, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Authenticator } from '../api/auth/authenticator.js';
import { mapError } from '../api/error-mapper.js';
import { toEnqueueInput, traceOfHeaders } from '../api/tasks.routes.js';
import type { CodeqConfig } from '../config.js';
import { CreateTaskBody } from '../contract/task.schema.js';
import type { EngineApi } from '../engine/engine.types.js';
import { isCodeqError } from '../errors.js';
import { toCodeqError } from '../events/stream.js';
import type { Metrics } from '../metrics/metrics.js';
import { apiRoot } from './nats-context.js';
import { bodyChecker, natsErrorReply, parseBody } from './nats-endpoint.js';

/** Name of the shared durable consumer every instance pulls from. */
export const INTAKE_CONSUMER = 'codeq-intake';

/** How long a message may be in work before it is redelivered (an instance died), ms. */
const INTAKE_ACK_WAIT_MS = 30_000;

/** Delay of a redelivery after a dependency failed, ms. */
const INTAKE_RETRY_MS = 2_000;

/**
 * Deliveries of a message whose enqueue failed unexpectedly (a 5xx other than an outage) before it
 * is terminated: such a failure is often passing (a lost Redis connection), yet a message that
 * always fails must not be retried for ever.
 */
const INTAKE_FAILURE_DELIVERIES_MAX = 5;

/** Messages one instance works on at once. */
const INTAKE_BATCH = 64;

/** The intake stream of a deployment. */
export function intakeStreamName(config: Pick<CodeqConfig, 'streamName'>): string {
  return `${config.streamName}_INTAKE`;
}

/** The intake's subjects: `<natsApiPrefix>.v1.publish.<command>`. */
export function intakeSubject(config: Pick<CodeqConfig, 'natsApiPrefix'>, command = '>'): string {
  return `${apiRoot(config)}.publish.${command}`;
}

/** Dependencies of {@link startPublishIntake}. */
export interface PublishIntakeOptions {
  nc: NatsConnection;
  engine: EngineApi;
  authenticator: Authenticator;
  config: CodeqConfig;
  logger: Logger;
  metrics?: Metrics | undefined;
}

/** Creates the intake stream and its consumer if missing (idempotent; every instance calls it). */
export async function provisionIntake(
  nc: NatsConnection,
  config: CodeqConfig,
): Promise<{ stream: string; createdMs: number }> {
  const stream = intakeStreamName(config);
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    let info = await jsm.streams.info(stream).catch(() => undefined);
    info ??= await jsm.streams.add({
      name: stream,
      subjects: [intakeSubject(config)],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: config.streamReplicas,
    });
    await jsm.consumers.add(stream, {
      durable_name: INTAKE_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(INTAKE_ACK_WAIT_MS),
      max_ack_pending: 10_000,
    });
    return { stream, createdMs: Date.parse(info.created) };
  } catch (err) {
    throw toCodeqError(err, `provision ${stream}`);
  }
}

/** Starts pulling; `stop` ends the pull and waits for the messages in work. */
export async function startPublishIntake(options: PublishIntakeOptions): Promise<{ stop(): Promise<void> }> {
  const { nc, engine, authenticator, config, metrics } = options;
  const log = options.logger.child({ component: 'nats-intake' });
  const { stream, createdMs } = await provisionIntake(nc, config);
  const subjectRoot = `${apiRoot(config)}.publish.`;
  const check = bodyChecker(CreateTaskBody);
  const count = (outcome: 'enqueued' | 'rejected' | 'retried') =>
    metrics?.natsIntakeMessages.inc({ outcome });

  const handle = async (m: JsMsg): Promise<void> => {
    try {
      const header = m.headers?.get('Authorization', Match.IgnoreCase) || undefined;
      const principal = authenticator.authorize(await authenticator.authenticate(header), {
        kind: 'producer',
      });
      const command = m.subject.slice(subjectRoot.length);
      const body = parseBody(m.data) as Record<string, unknown>;
      // The command is the subject's; a body naming another is refused, not silently re-routed.
      if (body.command !== undefined && body.command !== command)
        throw new IntakeRefusal("the body's command differs from the subject's");
      const input = toEnqueueInput(check({ ...body, command }), principal, '', traceOf(m));
      // Same message, same key: a redelivery returns the first task. The stream's creation time
      // keeps a recreated stream's sequences from meeting an older one's keys.
      input.idempotencyKey ??= `nats-intake:${createdMs.toString(36)}:${m.seq}`;
      await engine.enqueue(input);
      m.ack();
      count('enqueued');
      log.debug({ seq: m.seq, command }, 'intake message enqueued');
    } catch (err) {
      if (isCodeqError(err, 'UNAVAILABLE') || isCodeqError(err, 'TIMEOUT')) {
        log.warn({ err: (err as Error).message, seq: m.seq }, 'intake message retried');
        m.nak(INTAKE_RETRY_MS);
        count('retried');
        return;
      }
      const reply = err instanceof IntakeRefusal ? undefined : natsErrorReply(err);
      if (reply && reply.status >= 500) {
        // Not the message's fault (a refusal is a 4xx): retried, up to a bound, rather than lost.
        if (m.info.deliveryCount < INTAKE_FAILURE_DELIVERIES_MAX) {
          log.warn({ err, seq: m.seq }, 'intake message failed; retried');
          m.nak(INTAKE_RETRY_MS);
          count('retried');
          return;
        }
        log.error({ err, seq: m.seq }, 'intake message failed');
      }
      log.warn(
        { seq: m.seq, subject: m.subject, error: reply?.body.error ?? (err as Error).message },
        'intake message rejected',
      );
      // No reason text: nats-server 2.9 does not read `+TERM <reason>`.
      m.term();
      count('rejected');
    }
  };

  const consumer = await jetstream(nc).consumers.get(stream, INTAKE_CONSUMER);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: INTAKE_BATCH });
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const m of messages) {
      // An ack/nak/term that throws (the connection closing) leaves the message to be redelivered;
      // it must not end the loop for the messages behind it.
      const work = handle(m)
        .catch((err: unknown) => log.error({ err, seq: m.seq }, 'intake message left for redelivery'))
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
      // Bounded concurrency: wait for a slot before taking more.
      if (inFlight.size >= INTAKE_BATCH) await Promise.race(inFlight);
    }
  })().catch((err: unknown) => log.error({ err: mapError(err).body.error }, 'intake stopped'));

  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        await messages.close().catch(() => undefined);
        await loop;
        await Promise.allSettled([...inFlight]);
      })()),
  };
}

/** A refusal of the intake itself (not an HTTP rule). */
class IntakeRefusal extends Error {}

/** The message's W3C trace context headers. */
function traceOf(m: JsMsg): ReturnType<typeof traceOfHeaders> {
  const get = (name: string) => m.headers?.get(name, Match.IgnoreCase) || undefined;
  return traceOfHeaders({ traceparent: get('traceparent'), tracestate: get('tracestate') });
}
