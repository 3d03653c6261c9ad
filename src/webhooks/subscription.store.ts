/**
 * Worker-availability subscriptions as durable facts: one JetStream KV bucket (`<stream>_SUBS`,
 * file storage, same replicas as the task stream), one key per subscription id. Not in Redis, so
 * a Redis wipe loses none; every server instance reads the same bucket and watches it for changes.
 * Renewals use the entry's revision (compare-and-set), so a renewal racing the cleanup either wins
 * (the subscription lives on) or loses cleanly (it is gone), never half of each.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { CodeqError } from '../errors.js';

/** How a subscription's notifications pick receivers. */
export type DeliveryMode = 'fanout' | 'group' | 'hash';

/** One subscription as stored. Times are epoch ms. */
export interface Subscription {
  /** Subscription id (UUID). */
  id: string;
  /** Token subject that created it: only it (or an admin) may renew, list or delete it. */
  owner: string;
  /** Where notifications are POSTed. */
  callbackUrl: string;
  /** Commands followed (the contract's `eventTypes`). */
  commands: string[];
  /** `fanout` (each subscription), `group` (one per group, round-robin), `hash` (one, stable). */
  deliveryMode: DeliveryMode;
  /** Group of `group` (required) and `hash` (optional, default the empty group) subscriptions. */
  groupId?: string | undefined;
  /** At most one notification per command per this many seconds. */
  minIntervalSeconds: number;
  /** Lifetime granted by the last create or renewal, seconds. */
  ttlSeconds: number;
  /** Creation time. */
  createdAt: number;
  /** Expiry: not renewed by then, it stops receiving and is removed by the cleanup. */
  expiresAt: number;
}

/** A change seen by {@link SubscriptionStore.watch}. */
export type SubscriptionChange = { op: 'put'; sub: Subscription } | { op: 'delete'; id: string };

/** KV bucket name of a deployment's subscriptions. */
export function subscriptionBucket(streamName: string): string {
  return `${streamName}_SUBS`;
}

const codec = new TextEncoder();
const decoder = new TextDecoder();

function decode(data: Uint8Array): Subscription | undefined {
  try {
    const value = JSON.parse(decoder.decode(data)) as Subscription;
    return typeof value?.id === 'string' && Array.isArray(value.commands) ? value : undefined;
  } catch {
    return undefined;
  }
}

function unavailable(what: string, err: unknown): CodeqError {
  return new CodeqError('UNAVAILABLE', `subscription store: ${what} failed`, { cause: err });
}

/** The KV-backed subscription store of one deployment. */
export class SubscriptionStore {
  private constructor(private readonly kv: KV) {}

  /**
   * Opens (creating if needed) the bucket.
   *
   * @param nc - NATS connection (not owned: never closed here).
   * @param bucket - bucket name, see {@link subscriptionBucket}.
   * @param replicas - bucket replicas, default 1.
   */
  static async open(nc: NatsConnection, bucket: string, replicas = 1): Promise<SubscriptionStore> {
    try {
      const kv = await new Kvm(nc).create(bucket, { history: 1, replicas, storage: 'file' });
      return new SubscriptionStore(kv);
    } catch (err) {
      throw unavailable(`opening bucket ${bucket}`, err);
    }
  }

  /** Stores a new subscription. */
  async create(sub: Subscription): Promise<void> {
    try {
      await this.kv.create(sub.id, codec.encode(JSON.stringify(sub)));
    } catch (err) {
      throw unavailable('create', err);
    }
  }

  /** A subscription and its revision, or undefined. */
  async get(id: string): Promise<{ sub: Subscription; revision: number } | undefined> {
    let entry;
    try {
      entry = await this.kv.get(id);
    } catch (err) {
      throw unavailable('get', err);
    }
    if (!entry || entry.operation !== 'PUT') return undefined;
    const sub = decode(entry.value);
    return sub ? { sub, revision: entry.revision } : undefined;
  }

  /**
   * Changes a subscription with compare-and-set, retrying on a concurrent change. Returns the new
   * value, or undefined when it does not exist (any more) or `change` returns undefined.
   */
  async update(
    id: string,
    change: (sub: Subscription) => Subscription | undefined,
  ): Promise<Subscription | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      const next = change(current.sub);
      if (!next) return undefined;
      try {
        await this.kv.update(id, codec.encode(JSON.stringify(next)), current.revision);
        return next;
      } catch {
        // Someone changed or removed it meanwhile: read again.
      }
    }
    throw new CodeqError('UNAVAILABLE', 'subscription store: too many concurrent updates');
  }

  /**
   * Removes a subscription. With `revision`, only if it was not changed since (a renewal wins);
   * returns false when it was.
   */
  async remove(id: string, revision?: number): Promise<boolean> {
    try {
      await this.kv.delete(id, revision === undefined ? {} : { previousSeq: revision });
      return true;
    } catch (err) {
      if (revision !== undefined) return false;
      throw unavailable('delete', err);
    }
  }

  /** Every stored subscription with its revision (expired ones included). */
  async list(): Promise<Array<{ sub: Subscription; revision: number }>> {
    const out: Array<{ sub: Subscription; revision: number }> = [];
    try {
      const keys: string[] = [];
      for await (const key of await this.kv.keys()) keys.push(key);
      for (const key of keys) {
        const item = await this.get(key);
        if (item) out.push(item);
      }
    } catch (err) {
      throw unavailable('list', err);
    }
    return out;
  }

  /**
   * Follows the bucket: every current subscription first, then each change. Returns a stop
   * function. The watch is an ordered consumer, which resumes by itself after a reconnect.
   */
  async watch(onChange: (change: SubscriptionChange) => void): Promise<() => void> {
    let iter;
    try {
      iter = await this.kv.watch();
    } catch (err) {
      throw unavailable('watch', err);
    }
    void (async () => {
      for await (const entry of iter) {
        if (entry.operation === 'PUT') {
          const sub = decode(entry.value);
          if (sub) onChange({ op: 'put', sub });
        } else onChange({ op: 'delete', id: entry.key });
      }
    })().catch(() => undefined);
    return () => iter.stop();
  }

  /** Deletes the bucket (tests and teardown). */
  async destroy(): Promise<void> {
    await this.kv.destroy().catch(() => undefined);
  }
}
