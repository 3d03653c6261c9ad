/**
 * The worker's side of push delivery over NATS (docs/nats.md, "Push delivery"): a subscription on the
 * delivery subject, and credits granted with `workers.credit` so that about `capacity()` are
 * outstanding at any time. Each delivery takes one credit; a slot coming free grants one back (top-ups
 * of one event-loop turn go out as one request). Credits expire on the server `expiresMs` after it
 * received them; the worker counts them from when it sent them, so it renews them just before the
 * server drops them and a vanished worker's credits stop claiming by themselves.
 *
 * Deliveries come in batches (`"batch":true`: a claim's tasks in one request). A task the worker
 * cannot take (no free slot: an over-delivery while credits were renewed, or a closing worker) is
 * answered `false` (`{"accepted":false}`, or in `{"accepted":[…]}` for a batch) and the server
 * abandons it at once.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { createInbox } from '@nats-io/nats-core';
import { decodeTask } from '../client/task-wire.js';
import type { TaskJson } from '../client/http-client.types.js';
import { toCodeqError } from './errors.js';
import { taskFromJson } from './http.transport.js';
import type { NatsRequester } from './nats-request.js';
import type { TransportSubscribe, TransportSubscription } from './transport.js';

/** Most credits one request may grant (the server's limit). */
const CREDITS_PER_REQUEST = 256;
const ACCEPTED = JSON.stringify({ accepted: true });
const REFUSED = JSON.stringify({ accepted: false });
/** Longest pause before a failed credit request is tried again, ms. */
const RETRY_MAX_MS = 5000;

/** Where and how a worker is sent tasks. */
export interface PushOptions {
  /** Credits stand this long on the server, ms (100..300 000). */
  expiresMs: number;
  /**
   * The delivery subject; default a fresh inbox of this worker. A shared subject
   * (`<prefix>.v1.deliver.<command>`) is subscribed in `queue` so its members share the deliveries.
   */
  deliverSubject?: string | undefined;
  /** Queue group for a shared `deliverSubject`. */
  queue?: string | undefined;
}

interface Grant {
  count: number;
  expiresAt: number;
}

/** One worker's push subscription. */
export class NatsPushFeed implements TransportSubscription {
  private readonly requester: NatsRequester;
  private readonly input: TransportSubscribe;
  private readonly options: PushOptions;
  private readonly subject: string;
  private readonly sub: Subscription;
  /** Credits believed outstanding (granted, not yet used, not expired). */
  private grants: Grant[] = [];
  private expiryTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private scheduled = false;
  private closed = false;

  constructor(nc: NatsConnection, requester: NatsRequester, input: TransportSubscribe, options: PushOptions) {
    this.requester = requester;
    this.input = input;
    this.options = options;
    this.subject = options.deliverSubject ?? createInbox();
    this.sub = nc.subscribe(this.subject, {
      ...(options.queue === undefined ? {} : { queue: options.queue }),
      callback: (err, msg) => {
        if (!err) this.onDelivery(msg);
      },
    });
    this.refill();
  }

  refill(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = true;
    // One turn of the event loop: slots freed together are granted in one request.
    setImmediate(() => {
      this.scheduled = false;
      this.topUp();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.retryTimer);
    // Deliveries already received are answered (refused) before the subscription ends.
    await this.sub.drain().catch(() => undefined);
  }

  /** One task (`{…}`) or a batch (`{"tasks":[…]}`): each taken if a slot is free, else refused. */
  private onDelivery(msg: Msg): void {
    if (this.closed) return void msg.respond(REFUSED);
    let body: TaskJson | { tasks: TaskJson[] };
    try {
      body = JSON.parse(msg.string()) as TaskJson | { tasks: TaskJson[] };
    } catch (err) {
      this.input.onError(toCodeqError(err));
      return void msg.respond(REFUSED);
    }
    if (!('tasks' in body)) return void msg.respond(this.offer(body) ? ACCEPTED : REFUSED);
    const accepted = body.tasks.map((json) => this.offer(json));
    msg.respond(accepted.every(Boolean) ? ACCEPTED : JSON.stringify({ accepted }));
  }

  /** Hands one delivered task to the worker; true when it took it. */
  private offer(json: TaskJson): boolean {
    this.take();
    try {
      return this.input.deliver(taskFromJson(decodeTask(json)));
    } catch (err) {
      this.input.onError(toCodeqError(err));
      return false;
    }
  }

  /** A delivery used one credit: of the grant that expires first. */
  private take(): void {
    for (const g of this.grants)
      if (g.count > 0) {
        g.count--;
        return;
      }
  }

  private outstanding(now: number): number {
    this.grants = this.grants.filter((g) => g.count > 0 && g.expiresAt > now);
    let n = 0;
    for (const g of this.grants) n += g.count;
    return n;
  }

  /** Grants what the capacity allows beyond the credits outstanding. */
  private topUp(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const now = Date.now();
    let deficit = this.input.capacity() - this.outstanding(now);
    while (deficit > 0) {
      const credits = Math.min(deficit, CREDITS_PER_REQUEST);
      deficit -= credits;
      // Counted as outstanding from the moment it is sent; taken back if the request fails.
      const grant = { count: credits, expiresAt: now + this.options.expiresMs };
      this.grants.push(grant);
      this.requester
        .call('worker', 'workers.credit', {
          commands: this.input.commands,
          credits,
          deliverSubject: this.subject,
          leaseSeconds: this.input.leaseSeconds,
          expiresMs: this.options.expiresMs,
          view: 'full',
          batch: true,
        })
        .then(
          () => {
            this.failures = 0;
          },
          (err: unknown) => this.creditFailed(grant, err),
        );
    }
    this.armExpiry();
  }

  private creditFailed(grant: Grant, err: unknown): void {
    this.grants = this.grants.filter((g) => g !== grant);
    if (this.closed) return;
    this.input.onError(toCodeqError(err));
    if (this.retryTimer !== undefined) return;
    const delay = Math.min(RETRY_MAX_MS, 100 * 2 ** this.failures++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.topUp();
    }, delay);
  }

  /** One timer at the first grant's expiry: the credits it still had are granted again. */
  private armExpiry(): void {
    if (this.expiryTimer !== undefined || this.grants.length === 0) return;
    const first = Math.min(...this.grants.map((g) => g.expiresAt));
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = undefined;
        this.topUp();
        this.armExpiry();
      },
      Math.max(0, first - Date.now()),
    );
  }
}
