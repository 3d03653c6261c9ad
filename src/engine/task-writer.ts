/**
 * The write path every operation shares: append decided events with the task's expected version
 * (pipelined), apply the ones the log took to the projection (one round trip), and wake claimers
 * of commands that gained claimable work. A version conflict is healed by `resync`. Appends ride
 * out leader elections and lost connections up to the dependency timeout (`append-retry.ts`).
 */
import type { Logger } from 'pino';
import { ENTERS_PENDING } from '../actors/task.transitions.js';
import type { TaskEventType } from '../events/task-event.schema.js';

/** Events that end a lease without making the task pending (those wake claimers anyway). */
const ENDS_LEASE: ReadonlySet<TaskEventType> = new Set(['completed', 'failed', 'dlq', 'cancelled']);
import type { CodeqError } from '../errors.js';
import { appendWithRetry } from '../events/append-retry.js';
import type { AppendRequest, EventPublisher } from '../events/event-publisher.js';
import type { EventLog } from '../events/event-log.js';
import { taskSubject } from '../events/subjects.js';
import type { StoredTaskEvent, TaskEvent } from '../events/task-event.schema.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import type { EngineObserver } from './engine.types.js';

/** One decided event and the version its task must still be at. */
export interface WriteItem {
  /** The event. */
  event: TaskEvent;
  /** The task's version the decision was taken on (0 for a new task). */
  expectedVersion: number;
  /** `Nats-Msg-Id` (idempotent enqueue). */
  msgId?: string | undefined;
  /** Publish as a subject rollup: the log keeps only this event of the task (snapshots). */
  rollup?: boolean;
}

/** Options of {@link TaskWriter.write}. */
export interface WriteOptions {
  /**
   * Answer once the log took the events, without waiting for Redis to confirm their apply (which
   * is already sent, ahead of anything this engine sends later). Claims use it: the lease is the
   * log's fact, and the worker starts one Redis round trip sooner. Default false.
   */
  applyInBackground?: boolean;
}

/**
 * New tasks handed straight to this engine's waiting claimers (see `hand-off.ts`): their apply puts
 * them into `reserved` rather than ready, and `deliver` gives them to the claimers once that apply
 * is on the Redis connection.
 */
export interface HandOffPlan {
  /** Ids of the handed-off tasks. */
  taken: ReadonlySet<string>;
  /** Reservation deadline of the handed-off tasks, epoch ms. */
  reserveUntil: number;
  /** Gives the tasks to the claimers. */
  deliver: () => void;
}

/** Outcome of one {@link WriteItem}: the stored event, or why the log refused it. */
export type WriteOutcome =
  { ok: true; event: StoredTaskEvent; duplicate: boolean } | { ok: false; error: CodeqError };

/** Default of `dependencyTimeoutMs`, ms. */
const DEFAULT_DEPENDENCY_TIMEOUT_MS = 5000;

/** Items appended and applied together; larger writes are split so apply overlaps append. */
const WRITE_CHUNK = 256;

/** Appends and applies task events. */
export class TaskWriter {
  private readonly pendingWakes = new Set<string>();
  private wakeScheduled = false;

  constructor(
    private readonly deps: {
      publisher: EventPublisher;
      log: EventLog;
      store: ProjectionStore;
      subjectPrefix: string;
      /** Publishes the wake-up of one command (core NATS). */
      publishWake: (command: string) => void;
      /** Offers the events the log just took to waiting claimers (new tasks only). */
      handOff?: (stored: readonly StoredTaskEvent[]) => HandOffPlan | undefined;
      /**
       * True for a queue with a concurrency limit: a task leaving its lease frees a place there, so
       * its claimers are woken as for new work. Default: never.
       */
      wakesOnLeaseEnd?: (command: string) => boolean;
      logger: Logger;
      observer?: EngineObserver | undefined;
      /** Told of events once they are applied (wakes result long-polls). Must be cheap, must not throw. */
      onApplied?: (events: readonly StoredTaskEvent[]) => void;
      /**
       * The longest one write waits for the log to take its events, every retry included (a
       * leader election, a reconnect), in ms; then the items not taken fail with a retryable
       * `UNAVAILABLE`. Default 5000.
       */
      dependencyTimeoutMs?: number | undefined;
    },
  ) {}

  /**
   * Appends every item (one pipelined batch) and applies what landed. Outcomes come back in input
   * order. An apply failure after a successful append is not an error for the caller: the event is
   * the fact, and the projector applies it.
   */
  async write(items: readonly WriteItem[], options: WriteOptions = {}): Promise<WriteOutcome[]> {
    const background = options.applyInBackground === true;
    const deadline = performance.now() + (this.deps.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS);
    if (items.length <= WRITE_CHUNK) return this.writeChunk(items, background, deadline);
    // Chunks are appended together and each is applied as soon as its own acks are in, so Redis
    // works on the first chunk while NATS still acknowledges the last (items are distinct tasks).
    const chunks: WriteItem[][] = [];
    for (let i = 0; i < items.length; i += WRITE_CHUNK) chunks.push(items.slice(i, i + WRITE_CHUNK));
    return (await Promise.all(chunks.map((chunk) => this.writeChunk(chunk, background, deadline)))).flat();
  }

  /** `deadline`: performance.now() ms by which the log must have taken the chunk's events. */
  private async writeChunk(
    items: readonly WriteItem[],
    background: boolean,
    deadline: number,
  ): Promise<WriteOutcome[]> {
    const requests: AppendRequest[] = items.map((item) => {
      const request: AppendRequest = {
        subject: taskSubject(this.deps.subjectPrefix, item.event.command, item.event.taskId),
        event: item.event,
        expectedVersion: item.expectedVersion,
      };
      if (item.msgId !== undefined) request.msgId = item.msgId;
      if (item.rollup) request.rollup = true;
      return request;
    });
    const acks = await appendWithRetry(
      { publisher: this.deps.publisher, lastMessageOn: (subject) => this.deps.log.lastMessageOn(subject) },
      requests,
      { timeoutMs: deadline - performance.now() },
    );
    const outcomes: WriteOutcome[] = [];
    const stored: StoredTaskEvent[] = [];
    acks.forEach((ack, i) => {
      if (!ack.ok) {
        outcomes.push({ ok: false, error: ack.error });
        return;
      }
      const event = { ...(items[i] as WriteItem).event, seq: ack.seq } as StoredTaskEvent;
      outcomes.push({ ok: true, event, duplicate: ack.duplicate });
      if (!ack.duplicate) stored.push(event);
    });
    if (stored.length > 0) {
      // The apply's commands are on the Redis connection once applyStored returns its promise
      // (ioredis writes synchronously), so anything this engine sends Redis afterwards is served
      // after them: not waiting for the answer keeps read-your-writes within the engine. The same
      // order lets a hand-off deliver right after: the claimers' writes follow the reservations.
      const handOff = this.deps.handOff?.(stored);
      const applying = this.applyStored(stored, handOff);
      handOff?.deliver();
      if (!background) await applying;
      else applying.catch((err: unknown) => this.deps.logger.warn({ err }, 'work after an apply failed'));
    }
    return outcomes;
  }

  /**
   * Applies events the log already holds, then notifies observers and wakes claimers (of work not
   * handed off). The apply is on the Redis connection when this returns its promise.
   */
  async applyStored(events: readonly StoredTaskEvent[], handOff?: HandOffPlan): Promise<void> {
    try {
      await this.deps.store.apply(
        events,
        Date.now(),
        handOff ? { reserve: { ids: handOff.taken, until: handOff.reserveUntil } } : {},
      );
    } catch (err) {
      this.deps.logger.warn(
        { err, events: events.length },
        'apply after append failed; the projector will apply',
      );
    }
    this.deps.observer?.onEventsAppended?.(events);
    this.deps.onApplied?.(events);
    for (const e of events) {
      if (ENTERS_PENDING.has(e.type)) {
        if (!handOff?.taken.has(e.taskId)) this.scheduleWake(e.command);
      } else if (ENDS_LEASE.has(e.type) && this.deps.wakesOnLeaseEnd?.(e.command)) {
        this.scheduleWake(e.command);
      }
    }
  }

  /** Wakes claimers of `command`, coalesced to one wake-up per command per batch. */
  scheduleWake(command: string): void {
    this.pendingWakes.add(command);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    // A microtask still collects every wake-up of the current batch, without waiting a loop turn.
    queueMicrotask(() => {
      this.wakeScheduled = false;
      for (const c of this.pendingWakes) this.deps.publishWake(c);
      this.pendingWakes.clear();
    });
  }

  /**
   * Brings one task's projection up to the log (after a version conflict or a refusal that may be
   * stale) and returns it reloaded; undefined when the log has no such task.
   */
  async resync(command: string, taskId: string): Promise<StoredTask | undefined> {
    const events = await this.deps.log.history(command, taskId);
    if (events.length === 0) return undefined;
    await this.deps.store.apply(events);
    return this.deps.store.load(taskId, command);
  }
}
