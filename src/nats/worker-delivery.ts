/**
 * Push delivery to workers (`codeq.v1.workers.credit`, docs/nats.md): a worker grants credits, this
 * instance claims up to that many tasks for the worker's principal (long-poll) and delivers each by
 * request to the worker's subject. The worker answers `{"accepted":true}`; any other answer, no
 * responders or a timeout and the task is abandoned at once, so a vanished worker keeps no lease
 * beyond that. Credits expire, so a vanished worker's credits stop claiming.
 *
 * Credits of the same principal, subject, commands, lease and wire are pooled on an instance: one
 * claim call serves them all, so a worker topping up its credits one slot at a time still claims in
 * batches.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { RequestError, NoRespondersError } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { EngineApi } from '../engine/engine.types.js';
import type { TaskView } from '../contract/views.js';
import { taskJson, type TaskWire } from '../api/task-json.js';
import type { PayloadFormat } from '../config.js';
import { CodeqError, isCodeqError } from '../errors.js';
import type { CreditRequest } from './credit-request.js';

/** How long a worker has to answer a delivery when not configured, ms. */
export const DELIVERY_TIMEOUT_MS_DEFAULT = 5000;
/** Tries of an abandon that fails for an outage. */
const ABANDON_ATTEMPTS = 4;
/** Pause before an abandon is tried again, ms, times the attempt. */
const ABANDON_RETRY_MS = 250;
/** Pause after a failed claim before the pool claims again, ms. */
const CLAIM_RETRY_MS = 1000;

/** Options of {@link WorkerDelivery}. */
export interface WorkerDeliveryOptions {
  /** The connection deliveries are requested on (the caller owns it). */
  nc: NatsConnection;
  /** Claims and abandons for the workers. */
  engine: EngineApi;
  /** Logs failed deliveries (debug) and failed abandons (warn). */
  logger: Logger;
  /** How tasks' payloads are written in codeQ's shape (config `payloadFormat`). */
  payloadFormat: PayloadFormat;
  /** How long a worker has to answer a delivery before its task is abandoned, ms; default 5 000 ms. */
  deliveryTimeoutMs?: number;
}

/** One credit request's credits still standing. */
interface Grant {
  remaining: number;
  expiresAt: number;
}

/** The credits of one (principal, subject, commands, lease, wire) on this instance. */
interface Pool {
  key: string;
  workerId: string;
  commands: string[];
  deliverSubject: string;
  leaseSeconds: number | undefined;
  wire: TaskWire;
  /** Deliver a claim's tasks in one request (`{"tasks":[…]}`). */
  batch: boolean;
  grants: Grant[];
  /** Aborts the pool's current claim (new credits: claim again with the larger count; stop). */
  claim: AbortController;
}

/** The push delivery of one instance. */
export class WorkerDelivery {
  private readonly options: WorkerDeliveryOptions;
  private readonly timeoutMs: number;
  private readonly pools = new Map<string, Pool>();
  private readonly running = new Set<Promise<void>>();
  private readonly deliveries = new Set<Promise<void>>();
  private stopped = false;

  constructor(options: WorkerDeliveryOptions) {
    this.options = options;
    this.timeoutMs = options.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS_DEFAULT;
  }

  /** Credit pools claiming now (for tests and metrics). */
  get activePools(): number {
    return this.pools.size;
  }

  /**
   * Grants `request.credits` deliveries to `workerId` (the principal's subject) for `commands` (the
   * caller resolved and authorised them); the number granted. Returns at once: claiming goes on in
   * the background until the credits are used up or expire.
   */
  credit(workerId: string, commands: string[], request: CreditRequest): number {
    if (this.stopped) throw new CodeqError('UNAVAILABLE', 'this instance is shutting down');
    const wire: TaskWire = { payloadFormat: this.options.payloadFormat, full: request.full };
    const sorted = [...new Set(commands)].sort();
    const key = JSON.stringify([
      workerId,
      request.deliverSubject,
      sorted,
      request.leaseSeconds,
      wire,
      request.batch,
    ]);
    const grant = { remaining: request.credits, expiresAt: Date.now() + request.expiresMs };
    const pool = this.pools.get(key);
    if (pool) {
      pool.grants.push(grant);
      // The pool's claim asked for fewer: let it return and claim again with the new count.
      pool.claim.abort();
      return request.credits;
    }
    const created: Pool = {
      key,
      workerId,
      commands: sorted,
      deliverSubject: request.deliverSubject,
      leaseSeconds: request.leaseSeconds,
      wire,
      batch: request.batch,
      grants: [grant],
      claim: new AbortController(),
    };
    this.pools.set(key, created);
    const run = this.claimFor(created).catch((err: unknown) =>
      this.options.logger.error({ err, deliverSubject: created.deliverSubject }, 'push delivery stopped'),
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return request.credits;
  }

  /**
   * Stops claiming, abandons what a claim returned meanwhile and waits for the deliveries in flight
   * (each ends within the delivery timeout). The credits standing are dropped.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const pool of this.pools.values()) pool.claim.abort();
    while (this.running.size > 0 || this.deliveries.size > 0)
      await Promise.all([...this.running, ...this.deliveries]);
  }

  /** Claims for a pool until its credits are used up or expired, or the instance stops. */
  private async claimFor(pool: Pool): Promise<void> {
    for (;;) {
      const now = Date.now();
      pool.grants = pool.grants.filter((g) => g.remaining > 0 && g.expiresAt > now);
      const count = pool.grants.reduce((n, g) => n + g.remaining, 0);
      if (count === 0 || this.stopped) {
        // Synchronously with the check: a credit arriving from now on starts a new pool.
        this.pools.delete(pool.key);
        return;
      }
      const until = Math.min(...pool.grants.map((g) => g.expiresAt));
      if (pool.claim.signal.aborted) pool.claim = new AbortController();
      let tasks: TaskView[];
      try {
        tasks = await this.options.engine.claim({
          workerId: pool.workerId,
          commands: pool.commands,
          ...(pool.leaseSeconds === undefined ? {} : { leaseSeconds: pool.leaseSeconds }),
          // In-process claims may wait a fraction of a second: exactly until the first grant expires.
          waitSeconds: Math.max(0, (until - now) / 1000),
          count: Math.min(count, 256),
          signal: pool.claim.signal,
        });
      } catch (err) {
        this.options.logger.warn({ err, deliverSubject: pool.deliverSubject }, 'push delivery: claim failed');
        await pause(CLAIM_RETRY_MS, pool.claim.signal);
        continue;
      }
      if (this.stopped) {
        await Promise.all(tasks.map((t) => this.abandon(pool, t.id)));
        continue;
      }
      consume(pool.grants, tasks.length);
      const deliveries = pool.batch
        ? chunks(tasks, pool.wire, this.maxBatchBytes())
        : tasks.map((task) => ({ tasks: [task], body: JSON.stringify(taskJson(task, pool.wire)) }));
      for (const delivery of deliveries) this.track(this.deliver(pool, delivery));
    }
  }

  private track(delivery: Promise<void>): void {
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  /** Half the server's largest message: a batch of deliveries never comes near it. */
  private maxBatchBytes(): number {
    return Math.floor((this.options.nc.info?.max_payload ?? 1024 * 1024) / 2);
  }

  /**
   * Sends tasks to the worker: one per request, or a batch (`{"tasks":[…]}`); abandons those it did
   * not accept (`{"accepted":true}` takes them all, `{"accepted":[true,false,…]}` some of a batch).
   */
  private async deliver(pool: Pool, delivery: Delivery): Promise<void> {
    let taken: boolean[] = [];
    let why = 'refused';
    try {
      const reply = await this.options.nc.request(pool.deliverSubject, delivery.body, {
        timeout: this.timeoutMs,
      });
      taken = acceptedOf(reply.data, delivery.tasks.length);
    } catch (err) {
      if (isNoResponders(err)) {
        // Nobody listens there any more: the worker is gone, its other credits are void too.
        pool.grants = [];
        pool.claim.abort();
        why = 'no responders';
      } else {
        why = err instanceof Error ? err.message : String(err);
      }
    }
    const refused = delivery.tasks.filter((_, i) => taken[i] !== true);
    if (refused.length === 0) return;
    this.options.logger.debug(
      { taskIds: refused.map((t) => t.id), deliverSubject: pool.deliverSubject, why },
      'push delivery not accepted: tasks abandoned',
    );
    await Promise.all(refused.map((t) => this.abandon(pool, t.id)));
  }

  private async abandon(pool: Pool, taskId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.engine.abandon({ taskId, workerId: pool.workerId });
        return;
      } catch (err) {
        // An outage is tried again: else the task waits out a lease nobody works under (hours,
        // for a long lease). Other refusals (expired, cancelled): the engine repairs it by itself.
        const passing = isCodeqError(err, 'UNAVAILABLE') || isCodeqError(err, 'TIMEOUT');
        if (!passing || attempt >= ABANDON_ATTEMPTS) {
          this.options.logger.warn({ err, taskId }, 'push delivery: abandon failed');
          return;
        }
        await new Promise((r) => setTimeout(r, ABANDON_RETRY_MS * attempt));
      }
    }
  }
}

/** Takes `n` credits, from the grants that expire first. */
function consume(grants: Grant[], n: number): void {
  grants.sort((a, b) => a.expiresAt - b.expiresAt);
  for (const g of grants) {
    const take = Math.min(g.remaining, n);
    g.remaining -= take;
    n -= take;
    if (n === 0) return;
  }
}

/** One request's tasks and its body. */
interface Delivery {
  tasks: TaskView[];
  body: string;
}

/** Batches of a claim's tasks, each body at most `maxBytes` (a larger task goes alone). */
function chunks(tasks: TaskView[], wire: TaskWire, maxBytes: number): Delivery[] {
  const out: Delivery[] = [];
  let current: TaskView[] = [];
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    if (current.length > 0) out.push({ tasks: current, body: `{"tasks":[${parts.join(',')}]}` });
    current = [];
    parts = [];
    size = 0;
  };
  for (const task of tasks) {
    const json = JSON.stringify(taskJson(task, wire));
    if (size + json.length > maxBytes) flush();
    current.push(task);
    parts.push(json);
    size += json.length + 1;
  }
  flush();
  return out;
}

/** Which of `n` delivered tasks the worker took, from its answer. */
function acceptedOf(data: Uint8Array, n: number): boolean[] {
  try {
    const answer = JSON.parse(new TextDecoder().decode(data)) as { accepted?: unknown } | null;
    const accepted = answer?.accepted;
    if (Array.isArray(accepted)) return Array.from({ length: n }, (_, i) => accepted[i] === true);
    return new Array<boolean>(n).fill(accepted === true);
  } catch {
    return [];
  }
}

function isNoResponders(err: unknown): boolean {
  return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
}

/** Resolves after `ms`, or at once when `signal` fires. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
