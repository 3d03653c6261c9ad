/**
 * The durable home of idempotency keys: a JetStream KV bucket beside the task stream, one entry per
 * key (`{taskId, command}`), kept for `idempotencyTtlSeconds` by the bucket's max age. The Redis
 * index answers repeats fast, but Redis can lose it (FLUSHALL, a restart without persistence, a
 * failover that drops the last writes) and the stream's `Nats-Msg-Id` window is minutes long: this
 * bucket is what keeps "the same key gives the same task" true for the whole TTL, whatever happens
 * to Redis. A key is bound to a task id *before* its `enqueued` event is appended, so a conflict is
 * known before anything reaches the log, and a binding whose append never happened (a writer that
 * died in between) is completed by the next request with the same key, with the bound id.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { CodeqError } from '../errors.js';
import type { EventPublisher } from './event-publisher.js';
import { apiErrCode, openManager, toCodeqError } from './stream.js';

/** JetStream API error: the subject's last sequence is not the expected one (the key is bound). */
const WRONG_LAST_SEQUENCE = 10071;

/** The task a key is bound to. */
export interface IdempotencyBinding {
  /** The bound task id. */
  taskId: string;
  /** The command of the bound task. */
  command: string;
  /** The entry's revision (its stream sequence in the bucket), for {@link IdempotencyRegistry.release}. */
  revision: number;
  /** True when this call made the binding; false when it already existed. */
  created: boolean;
}

/** Options of {@link IdempotencyRegistry.open}. */
export interface IdempotencyRegistryOptions {
  /** Bucket name (`[A-Za-z0-9_-]+`); see {@link idempotencyBucket}. */
  bucket: string;
  /** How long a key stays bound after it was bound, ms (`idempotencyTtlSeconds` × 1000). */
  ttlMs: number;
  /** Bucket replicas; default 1 (give the task stream's). */
  replicas?: number;
  /** Longest wait for one request to the bucket, ms; default 5000. */
  timeoutMs?: number;
}

/** The bucket of a deployment: `<stream name>_IDEM`. */
export function idempotencyBucket(streamName: string): string {
  return `${streamName}_IDEM`;
}

/** The KV key of an idempotency key: its UTF-8 bytes in base64url (reversible, only KV-safe characters). */
function kvKeyOf(idempotencyKey: string): string {
  return Buffer.from(idempotencyKey, 'utf8').toString('base64url');
}

const NAME_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** Decodes a stored binding, or undefined when the entry is not one (it is read back from outside). */
function decodeBinding(value: Uint8Array): { taskId: string; command: string } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(value).toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { taskId, command } = parsed as Record<string, unknown>;
    if (typeof taskId !== 'string' || typeof command !== 'string') return undefined;
    if (!NAME_RE.test(command) || taskId.length === 0 || taskId.length > 100) return undefined;
    return { taskId, command };
  } catch {
    return undefined;
  }
}

/** Idempotency keys bound to task ids, durable in JetStream. */
export class IdempotencyRegistry {
  private constructor(
    private readonly kv: KV,
    private readonly bucket: string,
  ) {}

  /**
   * Opens the bucket, creating it if needed, and brings its TTL and replicas to the ones given (a
   * changed `idempotencyTtlSeconds` applies to every key from then on).
   */
  static async open(nc: NatsConnection, options: IdempotencyRegistryOptions): Promise<IdempotencyRegistry> {
    const replicas = options.replicas ?? 1;
    try {
      const kvm = new Kvm(jetstream(nc, { timeout: options.timeoutMs ?? 5000, checkAPI: false }));
      const kv = await kvm.create(options.bucket, {
        history: 1,
        ttl: options.ttlMs,
        replicas,
        storage: 'file',
      });
      const jsm = await openManager(nc);
      const stream = `KV_${options.bucket}`;
      const info = await jsm.streams.info(stream);
      const maxAge = options.ttlMs * 1_000_000;
      if (info.config.max_age !== maxAge || info.config.num_replicas !== replicas) {
        // The server refuses a duplicate window longer than the max age.
        const duplicateWindow = Math.min(info.config.duplicate_window ?? maxAge, maxAge);
        await jsm.streams.update(stream, {
          ...info.config,
          max_age: maxAge,
          duplicate_window: duplicateWindow,
          num_replicas: replicas,
        });
      }
      return new IdempotencyRegistry(kv, options.bucket);
    } catch (err) {
      throw toCodeqError(err, `open idempotency bucket ${options.bucket}`);
    }
  }

  /**
   * Binds `key` to `taskId` unless it is bound already; returns the binding in force. Safe to
   * repeat after an unknown outcome: a repeat finds its own binding and reports it as created.
   *
   * @throws CodeqError `UNAVAILABLE`/`TIMEOUT` when the bucket cannot answer.
   */
  async bind(key: string, taskId: string, command: string): Promise<IdempotencyBinding> {
    const kvKey = kvKeyOf(key);
    try {
      const revision = await this.kv.create(kvKey, JSON.stringify({ taskId, command }));
      return { taskId, command, revision, created: true };
    } catch (err) {
      if (apiErrCode(err) !== WRONG_LAST_SEQUENCE) throw toCodeqError(err, `bind idempotency key`);
    }
    const existing = await this.lookup(key);
    if (!existing) {
      // Released (or expired) between our create and our read: bind again.
      return this.bind(key, taskId, command);
    }
    return { ...existing, created: existing.taskId === taskId };
  }

  /**
   * Binds many keys at once on the publisher's lean path (pipelined create-if-absent publishes).
   * Creates the bucket could not take for now (no leader during an election, no ack in time) are
   * sent again until `timeoutMs`, as appends are; keys found bound (or whose earlier try may have
   * landed) are read back one by one, and a binding of our own task id counts as created. Each
   * item answers on its own.
   */
  async bindMany(
    items: readonly { key: string; taskId: string; command: string }[],
    publisher: Pick<EventPublisher, 'createMany' | 'closed'>,
    timeoutMs: number,
  ): Promise<(IdempotencyBinding | CodeqError)[]> {
    const deadline = performance.now() + timeoutMs;
    const out = new Array<IdempotencyBinding | CodeqError>(items.length);
    const readBack: number[] = [];
    let pending = items.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const remaining = deadline - performance.now();
      const acks = await publisher.createMany(
        pending.map((i) => ({
          subject: `$KV.${this.bucket}.${kvKeyOf(items[i]!.key)}`,
          data: Buffer.from(JSON.stringify({ taskId: items[i]!.taskId, command: items[i]!.command }), 'utf8'),
        })),
        { timeoutMs: Math.max(0, Math.min(remaining, Math.max(100, timeoutMs / 3))) },
      );
      const again: number[] = [];
      acks.forEach((ack, j) => {
        const i = pending[j]!;
        const { taskId, command } = items[i]!;
        if (ack.ok) out[i] = { taskId, command, revision: ack.seq, created: true };
        else if (ack.error.code === 'VERSION_CONFLICT') readBack.push(i);
        else if (ack.error.code !== 'TIMEOUT' && ack.error.code !== 'UNAVAILABLE') out[i] = ack.error;
        else if (publisher.closed || performance.now() + 50 * attempt >= deadline) {
          out[i] = new CodeqError('UNAVAILABLE', `idempotency bucket ${this.bucket}: no answer in time`, {
            cause: ack.error,
            details: { dependency: 'nats' },
          });
        } else again.push(i);
      });
      pending = again;
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * attempt));
    }
    // Bound already, or a delete marker stands (the stock create steps over it), or an earlier try
    // landed: the single path settles it, finding its own binding when that is what is there.
    await Promise.all(
      readBack.map(async (i) => {
        const { key, taskId, command } = items[i]!;
        out[i] = await this.bind(key, taskId, command).catch((err: unknown) =>
          toCodeqError(err, 'bind idempotency key'),
        );
      }),
    );
    return out;
  }

  /** The binding of `key`, or undefined when it is not bound. */
  async lookup(key: string): Promise<Omit<IdempotencyBinding, 'created'> | undefined> {
    let entry;
    try {
      entry = await this.kv.get(kvKeyOf(key));
    } catch (err) {
      throw toCodeqError(err, 'read idempotency key');
    }
    if (!entry || entry.operation !== 'PUT') return undefined;
    const binding = decodeBinding(entry.value);
    if (!binding) {
      throw new CodeqError(
        'CORRUPT_EVENT',
        `idempotency bucket ${this.bucket}: the entry of key ${JSON.stringify(key)} is not a binding`,
        { details: { revision: entry.revision } },
      );
    }
    return { ...binding, revision: entry.revision };
  }

  /**
   * Unbinds `key` if it is still at `revision` (a binding this request made and then wrote nothing
   * for); a key bound anew since is left alone. Without `revision`, unbinds whatever it holds
   * (admin cleanup of a deleted task).
   */
  async release(key: string, revision?: number): Promise<void> {
    try {
      await this.kv.delete(kvKeyOf(key), revision === undefined ? {} : { previousSeq: revision });
    } catch (err) {
      if (revision !== undefined && apiErrCode(err) === WRONG_LAST_SEQUENCE) return;
      throw toCodeqError(err, 'release idempotency key');
    }
  }

  /** Unbinds `key` if it is bound to `taskId` (a deleted task's key; a newer binding stays). */
  async releaseIfBoundTo(key: string, taskId: string): Promise<void> {
    const binding = await this.lookup(key);
    if (binding?.taskId === taskId) await this.release(key, binding.revision);
  }

  /** Deletes the bucket (tests, and a deployment's teardown). */
  static async destroy(nc: NatsConnection, bucket: string): Promise<void> {
    const jsm = await openManager(nc);
    try {
      await jsm.streams.delete(`KV_${bucket}`);
    } catch (err) {
      if (apiErrCode(err) === 10059) return;
      throw toCodeqError(err, `delete idempotency bucket ${bucket}`);
    }
  }
}
