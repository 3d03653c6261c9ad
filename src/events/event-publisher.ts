/**
 * The lean, pipelined append path of the event log. The stock `js.publish()` is a full request per
 * message (a reply subscription entry, a timer, a headers object, a promise chain), a client CPU
 * cost every append would pay (docs/architecture.md §1). Here a publisher owns one wildcard inbox
 * subscription; every append is a plain core publish whose reply subject ends in a numeric token,
 * acks are matched to their append by that token, a bounded window limits what is in flight, and a
 * single sweeper timer fails appends whose ack never came. Errors are mapped the way the stock
 * client would: 10071 → VERSION_CONFLICT, no responders → UNAVAILABLE, silence → TIMEOUT. One try
 * per append: retrying until a deadline is `append-retry.ts`'s job; what an append's bytes are is
 * `append-frame.ts`'s.
 */
import { createInbox } from '@nats-io/nats-core';
import type { Msg, NatsConnection, PublishOptions, Subscription } from '@nats-io/nats-core';
import { CodeqError } from '../errors.js';
import { appendFrame, CREATE_HEADERS, PreparedHeaders, type AppendRequest } from './append-frame.js';
import { decodeAck, statusError, type AppendAck } from './event-codec.js';
import { type Batch, Pending, settleBatch, settleError, timeoutError } from './pending-append.js';

export { WRONG_LAST_SEQUENCE, type AppendAck } from './event-codec.js';
export type { AppendRequest } from './append-frame.js';

/** Options of one {@link EventPublisher.append} or {@link EventPublisher.appendMany} call. */
export interface AppendOptions {
  /**
   * Milliseconds from this call after which an item without an ack fails with `TIMEOUT`, time spent
   * queued for room in the window included (an item still queued then is failed unsent). Default:
   * the publisher's `timeoutMs`, counted from the send.
   */
  timeoutMs?: number;
}

/** Outcome of one item of {@link EventPublisher.appendMany}. */
export type AppendResult = ({ ok: true } & AppendAck) | { ok: false; error: CodeqError };

/** Options of an {@link EventPublisher}. */
export interface EventPublisherOptions {
  /** Most appends awaiting their ack at once; further appends queue until room frees. Default 4096. */
  window?: number;
  /** Milliseconds to wait for an ack before failing the append with `TIMEOUT`. Default 5000. */
  timeoutMs?: number;
  /** Prefix of the reply inbox; set it when the connection uses a custom `inboxPrefix`. Default `_INBOX`. */
  inboxPrefix?: string;
}

/** The pipelined appender. One per process (or per connection) is enough; it is safe to share. */
export class EventPublisher {
  readonly #nc: NatsConnection;
  readonly #window: number;
  readonly #timeoutMs: number;
  readonly #sweepMs: number;
  readonly #replyPrefix: string;
  readonly #sub: Subscription;
  readonly #hdr = new PreparedHeaders();
  readonly #pubOpts: PublishOptions;
  /** In flight by token; insertion order is send order, hence deadline order. */
  readonly #inflight = new Map<number, Pending>();
  #queue: Pending[] = [];
  #queueHead = 0;
  #nextToken = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed: CodeqError | undefined;

  constructor(nc: NatsConnection, options: EventPublisherOptions = {}) {
    this.#nc = nc;
    this.#window = Math.max(1, options.window ?? 4096);
    this.#timeoutMs = Math.max(1, options.timeoutMs ?? 5000);
    // Calls may ask for shorter timeouts than the publisher's (retries within a deadline), so the
    // sweeper wakes often enough to keep those close: at most 100 ms late, and only while appends
    // are in flight.
    this.#sweepMs = Math.min(100, Math.max(5, Math.floor(this.#timeoutMs / 10)));
    const inbox = createInbox(options.inboxPrefix);
    this.#replyPrefix = `${inbox}.`;
    this.#pubOpts = { reply: '', headers: this.#hdr };
    this.#sub = nc.subscribe(`${inbox}.*`, { callback: (err, msg) => this.#onReply(err, msg) });
    // Covers both our own close() and the connection closing under us.
    void this.#sub.closed.then(() => this.#shutdown('connection closed'));
  }

  /** Appends sent and awaiting their ack (never more than the window). */
  get inFlight(): number {
    return this.#inflight.size;
  }

  /** True while the single sweeper timer runs: only with appends in flight (diagnostics and tests). */
  get sweeping(): boolean {
    return this.#timer !== undefined;
  }

  /** Appends in flight plus appends queued for room in the window. */
  get pending(): number {
    return this.#inflight.size + this.#queue.length - this.#queueHead;
  }

  /** True once closed (by {@link close} or with its connection): every append fails at once. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Appends one event. Resolves with its sequence; rejects with `VERSION_CONFLICT`
   * ({@link VersionConflictError}), `UNAVAILABLE`, `TIMEOUT` (outcome unknown: retry with the same
   * `msgId`), `INVALID_INPUT` or `INTERNAL`.
   */
  append(request: AppendRequest, options?: AppendOptions): Promise<AppendAck> {
    const callDeadline = this.#callDeadline(options);
    return new Promise<AppendAck>((resolve, reject) => {
      const p = this.#prepare(request, callDeadline, null, 0, resolve, reject);
      if (p instanceof CodeqError) reject(p);
      else this.#submit(p);
    });
  }

  /**
   * Appends many events with one promise. Never rejects: each item gets its own result, in input
   * order, so a batch where some tasks moved on (conflicts) still reports every success.
   */
  appendMany(requests: readonly AppendRequest[], options?: AppendOptions): Promise<AppendResult[]> {
    const callDeadline = this.#callDeadline(options);
    return this.#many(requests.length, (i, batch) =>
      this.#prepare(requests[i]!, callDeadline, batch, i, null, null),
    );
  }

  /**
   * Publishes raw messages, each stored only if its subject holds none yet (expected last subject
   * sequence 0): a KV create on the lean path, for buckets beside the stream (idempotency keys).
   * Never rejects: each item gets its own result, in input order; a subject already holding a
   * message answers `VERSION_CONFLICT`.
   */
  createMany(
    requests: readonly { subject: string; data: Uint8Array }[],
    options?: AppendOptions,
  ): Promise<AppendResult[]> {
    const callDeadline = this.#callDeadline(options);
    return this.#many(requests.length, (i, batch) => {
      if (this.#closed) return this.#closed;
      const { subject, data } = requests[i]!;
      return new Pending(callDeadline, subject, 0, data, CREATE_HEADERS, batch, i, null, null);
    });
  }

  /** Sends `count` prepared items as one batch resolved once with every item's result. */
  #many(count: number, prepare: (i: number, batch: Batch) => Pending | CodeqError): Promise<AppendResult[]> {
    if (count === 0) return Promise.resolve([]);
    return new Promise<AppendResult[]>((resolve) => {
      const batch: Batch = { results: new Array<AppendResult>(count), remaining: count, resolve };
      for (let i = 0; i < count; i++) {
        const p = prepare(i, batch);
        if (p instanceof CodeqError) settleBatch(batch, i, { ok: false, error: p });
        else this.#submit(p);
      }
    });
  }

  /** Rejects everything in flight or queued with `UNAVAILABLE`, stops the sweeper, drops the inbox. */
  close(): void {
    this.#shutdown('publisher closed');
    if (!this.#sub.isClosed()) this.#sub.unsubscribe();
  }

  #callDeadline(options: AppendOptions | undefined): number {
    const ms = options?.timeoutMs;
    return ms === undefined ? Number.POSITIVE_INFINITY : performance.now() + Math.max(0, ms);
  }

  /** One request as a pending append, or the error that refuses it (returned: no closure per call). */
  #prepare(
    r: AppendRequest,
    callDeadline: number,
    batch: Batch | null,
    index: number,
    resolve: ((ack: AppendAck) => void) | null,
    reject: ((err: CodeqError) => void) | null,
  ): Pending | CodeqError {
    if (this.#closed) return this.#closed;
    const frame = appendFrame(r);
    if (frame instanceof CodeqError) return frame;
    const { subject, expectedVersion } = r;
    return new Pending(
      callDeadline,
      subject,
      expectedVersion,
      frame.data,
      frame.headers,
      batch,
      index,
      resolve,
      reject,
    );
  }

  #submit(p: Pending): void {
    if (this.#inflight.size < this.#window && this.#queueHead === this.#queue.length) this.#send(p);
    else this.#queue.push(p);
  }

  #send(p: Pending): void {
    const now = performance.now();
    if (p.callDeadline <= now) {
      settleError(p, timeoutError(p, 'was not sent (it waited for room in the window)'));
      return;
    }
    const token = ++this.#nextToken;
    p.token = token;
    p.deadline = Math.min(now + this.#timeoutMs, p.callDeadline);
    this.#hdr.bytes = p.headers;
    this.#pubOpts.reply = this.#replyPrefix + token;
    try {
      this.#nc.publish(p.subject, p.data, this.#pubOpts);
    } catch (err) {
      settleError(p, this.#publishError(err, p));
      return;
    }
    this.#inflight.set(token, p);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#sweep, this.#sweepMs);
      this.#timer.unref();
    }
  }

  /** Sends queued appends while the window has room. */
  #pump(): void {
    const q = this.#queue;
    while (this.#queueHead < q.length && this.#inflight.size < this.#window) {
      const p = q[this.#queueHead]!;
      q[this.#queueHead++] = undefined as unknown as Pending; // let it be collected once sent
      if (!p.dropped) this.#send(p);
    }
    if (this.#queueHead === q.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 4096 && this.#queueHead * 2 > q.length) {
      this.#queue = q.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err) return; // a subscription error closes it; #shutdown runs from sub.closed
    const token = Number(msg.subject.substring(this.#replyPrefix.length));
    const p = this.#inflight.get(token);
    if (p === undefined) return; // a late ack of an append that already timed out
    this.#inflight.delete(token);
    const data = msg.data;
    // An empty reply is a status message (503: no responders); nats-core exposes it as headers.code.
    const ack =
      data.length === 0
        ? statusError(msg.headers?.code ?? 0, p.subject)
        : decodeAck(data, p.subject, p.expectedVersion);
    if (ack instanceof CodeqError) settleError(p, ack);
    else if (p.batch) settleBatch(p.batch, p.index, { ok: true, seq: ack.seq, duplicate: ack.duplicate });
    else p.resolve!(ack);
    this.#pump();
  }

  /**
   * The one timer: fails appends past their deadline (in flight, or queued past their call's
   * deadline), stops itself when nothing is in flight. Calls may set their own timeouts, so send
   * order is not deadline order: every entry is looked at (at most the window, ten times a second).
   */
  readonly #sweep = (): void => {
    const now = performance.now();
    for (const [token, p] of this.#inflight) {
      if (p.deadline > now) continue;
      this.#inflight.delete(token);
      settleError(p, timeoutError(p, 'got no ack in time'));
    }
    const q = this.#queue;
    for (let i = this.#queueHead; i < q.length; i++) {
      const p = q[i]!;
      if (p.dropped || p.callDeadline > now) continue;
      p.dropped = true;
      settleError(p, timeoutError(p, 'was not sent (it waited for room in the window)'));
    }
    this.#pump();
    if (this.#inflight.size === 0) this.#stopTimer();
  };

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #publishError(err: unknown, p: Pending): CodeqError {
    if (this.#nc.isClosed() || this.#nc.isDraining()) {
      return new CodeqError('UNAVAILABLE', 'NATS connection closed', { cause: err });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new CodeqError('INVALID_INPUT', `cannot publish on ${p.subject}: ${message}`, { cause: err });
  }

  #shutdown(reason: string): void {
    if (this.#closed) return;
    this.#closed = new CodeqError('UNAVAILABLE', reason);
    this.#stopTimer();
    const inflight = [...this.#inflight.values()];
    const queued = this.#queue.slice(this.#queueHead);
    this.#inflight.clear();
    this.#queue = [];
    this.#queueHead = 0;
    for (const p of inflight)
      settleError(p, new CodeqError('UNAVAILABLE', `${reason}; append outcome unknown`));
    for (const p of queued) {
      if (!p.dropped) settleError(p, new CodeqError('UNAVAILABLE', `${reason}; append not sent`));
    }
  }
}
