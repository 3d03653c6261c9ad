/**
 * The operator's side of the SDK: pause and resume a queue, change its limits, read it in detail
 * and read who controlled it. Over either transport; every control is an event in the log with
 * the caller as its actor (over HTTP the admin token's subject, in-process the transport's
 * `adminActor`).
 */
import type { QueueIntent } from '../actors/queue.decider.js';
import type { QueueLimitsPatch, QueueSettings } from '../contract/queue-controls.js';
import type { QueueControlAnswer } from '../contract/queue-controls.schema.js';
import type { QueueDetail } from '../contract/views.js';
import { resolveRetry, withRetry } from './retry.js';
import type { ResolvedRetryOptions, RetryOptions } from './retry.js';

export type { QueueControlAnswer, QueueDetail, QueueIntent, QueueLimitsPatch, QueueSettings };

/** One control event of a queue, as the SDK returns it (times epoch ms). */
export interface QueueControlEntry {
  /** Sequence in the control stream. */
  seq: number;
  /** `queuePaused`, `queueResumed` or `queueLimitsChanged`. */
  type: string;
  /** Who did it (`admin:<sub>`). */
  actor: string;
  /** When, epoch ms. */
  at: number;
  /** What was asked: `{reason?}` for a pause, `{patch}` for a limits change. */
  data: unknown;
  /** The queue's controls after this event. */
  settings: QueueSettings;
}

/** The queue operations a transport offers an operator (both built-in transports have them). */
export interface QueueAdminTransport {
  /** One queue in detail: counts, pause, limits, health figures. */
  queueDetail(command: string): Promise<QueueDetail>;
  /** Pauses, resumes or changes the limits of a queue; answers its controls after it. */
  controlQueue(command: string, intent: QueueIntent): Promise<QueueControlAnswer>;
  /** The newest `limit` control events of a queue, oldest first. */
  queueControls(command: string, limit?: number): Promise<QueueControlEntry[]>;
}

/** Options of a {@link QueueAdmin}. */
export interface QueueAdminOptions {
  /** `HttpTransport` (with an admin token) or `EngineTransport`; not owned: close it yourself. */
  transport: QueueAdminTransport;
  /**
   * Retries of transient failures; defaults of {@link RetryOptions}. Safe: a control states the
   * wanted result (paused, a limit's value), so doing it twice changes nothing more.
   */
  retry?: RetryOptions;
}

/** Controls queues: pause, resume, limits, and their detail and control history. */
export class QueueAdmin {
  private readonly transport: QueueAdminTransport;
  private readonly retry: ResolvedRetryOptions;

  constructor(options: QueueAdminOptions) {
    this.transport = options.transport;
    this.retry = resolveRetry(options.retry);
  }

  /**
   * Pauses a queue: it accepts enqueues and hands out no claims (waiting claims keep waiting) until
   * {@link resume}. `changed` is false when it already was paused.
   */
  pause(command: string, options: { reason?: string } = {}): Promise<QueueControlAnswer> {
    const intent: QueueIntent =
      options.reason === undefined ? { type: 'pause' } : { type: 'pause', reason: options.reason };
    return this.control(command, intent);
  }

  /** Resumes a paused queue; waiting claims get its tasks at once. */
  resume(command: string): Promise<QueueControlAnswer> {
    return this.control(command, { type: 'resume' });
  }

  /**
   * Changes a queue's limits: a field given sets that limit, `null` removes it, an absent one stays
   * (e.g. `{ groupConcurrency: 2, rate: null }`). An empty patch is `INVALID_INPUT`.
   */
  setLimits(command: string, patch: QueueLimitsPatch): Promise<QueueControlAnswer> {
    return this.control(command, { type: 'setLimits', patch });
  }

  /** One queue in detail: counts, pause, limits, oldest ready age, group key figures. */
  detail(command: string): Promise<QueueDetail> {
    return withRetry(() => this.transport.queueDetail(command), this.retry);
  }

  /** The newest `limit` (default 100, at most 1000) control events of a queue, oldest first. */
  controls(command: string, options: { limit?: number } = {}): Promise<QueueControlEntry[]> {
    return withRetry(() => this.transport.queueControls(command, options.limit), this.retry);
  }

  private control(command: string, intent: QueueIntent): Promise<QueueControlAnswer> {
    return withRetry(() => this.transport.controlQueue(command, intent), this.retry);
  }
}
