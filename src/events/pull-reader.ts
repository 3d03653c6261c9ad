/**
 * Reading a range of the stream as fast as nats-server serves it (replay, rebuild, a task's
 * history). The stock consumer API wraps every message in a `JsMsg` whose delivery info is parsed
 * from its reply subject each time it is asked for, and each fetch in an async iterator: a rebuild
 * pays that per event (figures: docs/benchmarks.md, "Lean stream reader"). Here one ephemeral pull
 * consumer without acks is fed pull requests over core NATS on one inbox subscription, and each
 * message's stream sequence and pending count are read straight off its reply subject.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { createInbox, nanos, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { CodeqError } from '../errors.js';
import { decodeStoredEvent } from './event-codec.js';
import { toCodeqError } from './stream.js';
import type { StoredTaskEvent } from './task-event.schema.js';

/** What a {@link pullRead} needs. */
export interface PullReadOptions {
  /** Connection to nats-server (not closed here). */
  nc: NatsConnection;
  /** Manager on `nc`, for the consumer's create and delete. */
  jsm: JetStreamManager;
  /** The task stream. */
  stream: string;
  /** The stream's subject prefix: each event is checked against its own subject. */
  prefix: string;
  /** Only this subject (one task's history); default the whole stream. */
  filter?: string | undefined;
  /** First stream sequence to read. */
  fromSeq: number;
  /** Events per batch handed to `onBatch` (one pull request each). */
  batchSize: number;
  /** How long one pull request waits for its messages, ms; also how long a silent server is waited for. */
  fetchTimeoutMs: number;
  /** Receives the events in stream order; the next batch is read while it runs. */
  onBatch: (events: StoredTaskEvent[]) => Promise<void>;
  /** Stops the read between batches with `ABORTED`. */
  signal?: AbortSignal | undefined;
  /** Prefix of the reply inbox; default the connection's own (`_INBOX` unless it set another). */
  inboxPrefix?: string | undefined;
}

/** What a {@link pullRead} read. */
export interface PullReadSummary {
  /** Events handed to `onBatch`. */
  events: number;
  /** Sequence of the last event read, 0 when none. */
  lastSeq: number;
}

/** The consumer outlives a stalled reader this long before the server drops it, ms. */
const CONSUMER_IDLE_MS = 120_000;

/** 409 descriptions that mean the consumer is gone rather than the request refused. */
const CONSUMER_GONE_RE = /consumer deleted|server shutdown|leadership change/i;

/** Times in a row a lost consumer is re-created without a message in between before the read fails. */
const MAX_RESETS = 3;

/**
 * Reads `[fromSeq, end]`, where the end is what the consumer had pending at its creation (events
 * appended meanwhile may be included, never required). At most two batches are in memory: the one
 * `onBatch` handles and the one being read. Like the stock ordered consumer, a consumer lost under
 * the read (deleted, or gone with a restarted server) is re-created after the last event read. A
 * rejection of `onBatch` stops the read and is rethrown as it is; NATS failures become
 * `UNAVAILABLE`, `TIMEOUT` or `INTERNAL`, a message that is not a valid event of its own subject
 * `CORRUPT_EVENT`.
 */
export async function pullRead(o: PullReadOptions): Promise<PullReadSummary> {
  const what = `read ${o.filter ?? o.stream}`;
  let requests: PullRequests | undefined;
  let events = 0;
  let lastSeq = 0;
  let handling: Promise<void> = Promise.resolve();
  let handlerFailure: { error: unknown } | undefined;
  try {
    requests = new PullRequests(o, what);
    let remaining = await requests.open(o.fromSeq);
    while (remaining > 0) {
      if (o.signal?.aborted) throw new CodeqError('ABORTED', 'replay aborted', { cause: o.signal.reason });
      const batch = await requests.next(Math.min(o.batchSize, remaining));
      if (batch.length === 0) break; // the request expired empty: the rest was deleted while we read
      remaining = requests.drained ? 0 : remaining - batch.length;
      events += batch.length;
      lastSeq = batch[batch.length - 1]!.seq;
      // One batch in onBatch, one being read: the next request goes out while this one is handled.
      await handling;
      if (handlerFailure) break;
      handling = o.onBatch(batch).then(undefined, (error: unknown) => {
        handlerFailure = { error };
      });
    }
    await handling;
  } catch (err) {
    await handling;
    throw toCodeqError(err, what);
  } finally {
    requests?.close();
  }
  if (handlerFailure) throw handlerFailure.error;
  return { events, lastSeq };
}

/** How one pull request ended. */
type PullEnd = 'done' | 'expired' | 'lost';

/**
 * One pull request at a time on one inbox: messages arrive in order and each request asks for an
 * exact count, so every message belongs to the request in flight. Status messages (no reply
 * subject) end a request (404, 408), or say the consumer is gone (409).
 */
class PullRequests {
  /** True once a message said nothing more was pending. */
  drained = false;
  readonly #o: PullReadOptions;
  readonly #inbox: string;
  readonly #sub;
  #consumer: string | undefined;
  #api = '';
  #request = 0;
  #batch: StoredTaskEvent[] = [];
  #want = 0;
  #lastSeq = 0;
  #waiter: { resolve: (end: PullEnd) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Messages received so far (the silence check's progress mark). */
  #received = 0;

  constructor(
    o: PullReadOptions,
    /** What is read, for error messages. */
    private readonly what: string,
  ) {
    this.#o = o;
    this.#inbox = createInbox(o.inboxPrefix ?? connectionInboxPrefix(o.nc));
    this.#sub = o.nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => this.#onMsg(err, msg) });
    void this.#sub.closed.then(() =>
      this.#fail(new CodeqError('UNAVAILABLE', `${this.what}: NATS connection closed`)),
    );
  }

  /** Creates the consumer at `fromSeq`; returns how many messages it has pending. */
  async open(fromSeq: number): Promise<number> {
    this.#lastSeq = fromSeq - 1;
    const o = this.#o;
    const ci = await o.jsm.consumers.add(o.stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
      inactive_threshold: nanos(Math.max(CONSUMER_IDLE_MS, 2 * o.fetchTimeoutMs)),
      mem_storage: true,
      num_replicas: 1,
      ...(o.filter === undefined ? {} : { filter_subject: o.filter }),
    });
    this.#consumer = ci.name;
    this.#api = `$JS.API.CONSUMER.MSG.NEXT.${o.stream}.${ci.name}`;
    return ci.num_pending;
  }

  /** Asks for `count` messages; resolves with them, or fewer when the request expired. */
  async next(count: number): Promise<StoredTaskEvent[]> {
    this.#batch = [];
    this.#want = count;
    for (let resets = 0; ; resets++) {
      const received = this.#received;
      if ((await this.#pull(count - this.#batch.length)) !== 'lost') return this.#batch;
      if (this.#received > received) resets = 0;
      if (resets === MAX_RESETS) {
        throw new CodeqError('UNAVAILABLE', `${this.what}: consumer lost ${MAX_RESETS + 1} times in a row`);
      }
      this.#deleteConsumer();
      await this.open(this.#lastSeq + 1);
    }
  }

  close(): void {
    this.#disarm();
    if (!this.#sub.isClosed()) this.#sub.unsubscribe();
    this.#deleteConsumer();
  }

  /** Best effort, not awaited: an ephemeral consumer left behind goes after its inactive threshold. */
  #deleteConsumer(): void {
    if (this.#consumer === undefined || this.#o.nc.isClosed()) return;
    this.#o.jsm.consumers.delete(this.#o.stream, this.#consumer).catch(() => {});
    this.#consumer = undefined;
  }

  #pull(count: number): Promise<PullEnd> {
    if (this.#failure) return Promise.reject(this.#failure);
    const reply = `${this.#inbox}.${++this.#request}`;
    const body = JSON.stringify({ batch: count, expires: nanos(this.#o.fetchTimeoutMs) });
    return new Promise<PullEnd>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#arm();
      try {
        this.#o.nc.publish(this.#api, body, { reply });
      } catch (err) {
        this.#fail(toCodeqError(err, this.what));
      }
    });
  }

  #onMsg(err: Error | null, msg: Msg): void {
    if (err) return this.#fail(toCodeqError(err, this.what));
    if (!this.#waiter) return;
    if (!msg.reply) return this.#onStatus(msg);
    const info = deliveryInfo(msg.reply);
    if (!info) {
      return this.#fail(new CodeqError('INTERNAL', `${this.what}: unexpected reply subject ${msg.reply}`));
    }
    // Already read: a consumer replaced after a silence may still have been delivering. Events come
    // in stream order from either one, so whatever is not past the last one read is a repeat.
    if (info.seq <= this.#lastSeq) return;
    let event: StoredTaskEvent;
    try {
      event = decodeStoredEvent(msg.data, info.seq, msg.subject, this.#o.prefix);
    } catch (error) {
      return this.#fail(error as Error);
    }
    this.#batch.push(event);
    this.#lastSeq = info.seq;
    this.#received++;
    // Nothing pending after it: done, even if deletions meanwhile left the count short.
    if (info.pending === 0) this.drained = true;
    if (this.drained || this.#batch.length >= this.#want) this.#settle('done');
  }

  #onStatus(msg: Msg): void {
    // A status of an earlier request says nothing about this one.
    if (msg.subject !== `${this.#inbox}.${this.#request}`) return;
    const code = msg.headers?.code ?? 0;
    if (code === 100) return; // idle heartbeat
    if (code === 404 || code === 408) return this.#settle('expired');
    const description = msg.headers?.description || `status ${code}`;
    // The consumer is gone (deleted, a server shutting down or losing leadership, no responders):
    // re-created after the last event read, as the stock ordered consumer does.
    if (code === 503 || (code === 409 && CONSUMER_GONE_RE.test(description))) return this.#settle('lost');
    this.#fail(new CodeqError(code === 409 ? 'UNAVAILABLE' : 'INTERNAL', `${this.what}: ${description}`));
  }

  #settle(end: PullEnd): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#disarm();
    waiter?.resolve(end);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#disarm();
    waiter?.reject(error);
  }

  /**
   * A request that hears nothing past its expiry was lost (its consumer deleted without a word, or a
   * restarted server): the read re-creates the consumer instead of hanging. One timer per request,
   * not per message: when it fires after messages came, it waits again.
   */
  #arm(): void {
    this.#disarm();
    let seen = -1;
    const check = (): void => {
      if (this.#received === seen) return this.#settle('lost');
      seen = this.#received;
      this.#timer = setTimeout(check, this.#o.fetchTimeoutMs + 1000);
    };
    check();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Stream sequence and pending count of a delivered message, from its reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`, or the newer form with
 * `<domain>.<account hash>` after `ACK` and a random token (or more) at the end, read like nats.js
 * reads them. Undefined for anything else.
 */
export function deliveryInfo(reply: string): { seq: number; pending: number } | undefined {
  // A scan instead of split(): no array and no substrings per message (a rebuild reads millions).
  if (!reply.startsWith('$JS.ACK.')) return undefined;
  let dotCount = 0;
  for (let i = 0; i < reply.length; i++) {
    if (reply.charCodeAt(i) !== DOT) continue;
    if (dotCount === DOTS.length) return undefined;
    DOTS[dotCount++] = i;
  }
  const tokens = dotCount + 1;
  const seqToken = tokens === 9 ? 5 : tokens >= 11 ? 7 : -1;
  if (seqToken < 0) return undefined;
  const seq = tokenNumber(reply, seqToken, dotCount);
  const pending = tokenNumber(reply, seqToken + 3, dotCount);
  if (seq < 1 || pending < 0) return undefined;
  return { seq, pending };
}

const DOT = 46;
/** Positions of the dots of the reply subject being parsed (11 or 12 today; room for more tokens). */
const DOTS = new Int32Array(32);

/** Token `k` of the subject whose dots are in `DOTS` as a non-negative integer, or -1. */
function tokenNumber(s: string, k: number, dotCount: number): number {
  const start = DOTS[k - 1]! + 1;
  const end = k < dotCount ? DOTS[k]! : s.length;
  if (end <= start || end - start > 16) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = s.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return Number.isSafeInteger(value) ? value : -1;
}

/** The inbox prefix the connection was opened with (nats.js keeps its options on the connection). */
function connectionInboxPrefix(nc: NatsConnection): string | undefined {
  const prefix = (nc as { options?: { inboxPrefix?: unknown } }).options?.inboxPrefix;
  return typeof prefix === 'string' && prefix !== '' ? prefix : undefined;
}
