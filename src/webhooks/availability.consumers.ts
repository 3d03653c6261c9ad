/**
 * The JetStream side of a subscription: one durable pull consumer per subscription and command,
 * filtered on the command's task subjects (`<prefix>.<command>.*`; nats-server 2.9 has no
 * multi-filter consumers). Durable, so events that arrive while no server runs wait for the next
 * one; deliver policy `new`, so a subscription hears only of work that came after it. Named
 * `avail_<subscriptionId>_<command>` so the cleanup can find every consumer a subscription used,
 * and orphans of subscriptions that no longer exist.
 */
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { commandFilter } from '../events/subjects.js';
import type { Subscription } from './subscription.store.js';

/** Prefix of every availability consumer's name. */
const AVAILABILITY_CONSUMER_PREFIX = 'avail_';

/** Name of the consumer of one subscription and command. */
export function consumerName(subscriptionId: string, command: string): string {
  return `${AVAILABILITY_CONSUMER_PREFIX}${subscriptionId}_${command}`;
}

/** The subscription id in a consumer name, or undefined for other consumers. */
export function subscriptionIdOf(name: string): string | undefined {
  if (!name.startsWith(AVAILABILITY_CONSUMER_PREFIX)) return undefined;
  const rest = name.slice(AVAILABILITY_CONSUMER_PREFIX.length);
  // Ids are UUIDs (36 characters); commands may contain `_`.
  return rest.length > 37 && rest[36] === '_' ? rest.slice(0, 36) : undefined;
}

/** Creates (idempotently) the consumers of a subscription. */
export async function ensureConsumers(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
  sub: Subscription,
): Promise<void> {
  for (const command of sub.commands) {
    await jsm.consumers.add(stream, {
      durable_name: consumerName(sub.id, command),
      filter_subject: commandFilter(subjectPrefix, command),
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
      max_ack_pending: 10_000,
    });
  }
}

/** Deletes a subscription's consumers (missing ones are fine). */
export async function deleteConsumers(
  jsm: JetStreamManager,
  stream: string,
  subscriptionId: string,
  commands: readonly string[],
): Promise<void> {
  for (const command of commands) {
    await jsm.consumers.delete(stream, consumerName(subscriptionId, command)).catch(() => false);
  }
}

/** Names of every availability consumer on the stream. */
export async function listAvailabilityConsumers(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const names: string[] = [];
  for await (const info of jsm.consumers.list(stream)) {
    if (info.name.startsWith(AVAILABILITY_CONSUMER_PREFIX)) names.push(info.name);
  }
  return names;
}
