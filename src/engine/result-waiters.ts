/**
 * Long-polls for a task's result (`GET /tasks/:id/result?waitSeconds=N`). A waiter costs no Redis or
 * NATS traffic while nothing happens to its task: it is woken by this engine's own writes (after
 * their apply, so a re-read sees them) and by the events other instances append for the task,
 * through one core NATS subscription on the task's subject shared by every waiter of that task (the
 * engine's connection is `noEcho`, so its own appends never arrive twice). Each wake-up costs one
 * read of the task.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { taskSubject } from '../events/subjects.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/** Event types after which a task may have a result to answer with. */
const ENDINGS: ReadonlySet<string> = new Set(['completed', 'failed', 'dlq', 'cancelled', 'snapshot']);

/** The `type` of an encoded event ('' when it is not one). */
function eventType(data: Uint8Array): string {
  try {
    const type = (JSON.parse(Buffer.from(data).toString('utf8')) as { type?: unknown }).type;
    return typeof type === 'string' ? type : '';
  } catch {
    return '';
  }
}

/** Why a wait ended: this engine applied an ending, another instance appended one, or neither. */
export type ResultWake = 'applied' | 'remote' | 'timeout' | 'aborted';

interface Watch {
  wakers: Set<(wake: ResultWake) => void>;
  sub: Subscription;
}

/** One watched task; `next` may be called again after each wake-up until `close`. */
export interface ResultWatch {
  /** Resolves once the subscription is in place at the server (events from then on are seen). */
  ready: Promise<void>;
  /** Waits for the next ending event of the task, until `deadline` (epoch ms) or the abort. */
  next(deadline: number, signal?: AbortSignal): Promise<ResultWake>;
  /** Stops watching (the subscription goes with the task's last watcher). */
  close(): void;
}

/** The result waiters of one engine. */
export class ResultWaiters {
  private readonly watches = new Map<string, Watch>();
  private closed = false;

  constructor(private readonly deps: { nc: NatsConnection; subjectPrefix: string }) {}

  /** Called by the writer after it applied events: wakes the waiters of tasks that ended. */
  onApplied(events: readonly StoredTaskEvent[]): void {
    if (this.watches.size === 0) return;
    for (const e of events) if (ENDINGS.has(e.type)) this.wake(e.taskId, 'applied');
  }

  /** Starts watching a task of `command`. */
  watch(command: string, taskId: string): ResultWatch {
    let watch = this.watches.get(taskId);
    if (!watch) {
      const sub = this.deps.nc.subscribe(taskSubject(this.deps.subjectPrefix, command, taskId), {
        callback: (err, msg) => {
          if (err) return;
          // Only an ending can bring a result; heartbeats and claims wake nobody.
          if (ENDINGS.has(eventType(msg.data))) this.wake(taskId, 'remote');
        },
      });
      watch = { wakers: new Set(), sub };
      this.watches.set(taskId, watch);
    }
    const current = watch;
    const mine = new Set<(wake: ResultWake) => void>();
    return {
      ready: this.deps.nc.flush(),
      next: (deadline, signal) =>
        new Promise<ResultWake>((resolve) => {
          if (this.closed || signal?.aborted) return resolve('aborted');
          const finish = (wake: ResultWake) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            current.wakers.delete(finish);
            mine.delete(finish);
            resolve(wake);
          };
          const onAbort = () => finish('aborted');
          const timer = setTimeout(() => finish('timeout'), Math.max(0, deadline - Date.now()));
          signal?.addEventListener('abort', onAbort, { once: true });
          current.wakers.add(finish);
          mine.add(finish);
        }),
      close: () => {
        for (const finish of mine) finish('aborted');
        if (current.wakers.size === 0 && this.watches.get(taskId) === current) {
          this.watches.delete(taskId);
          current.sub.unsubscribe();
        }
      },
    };
  }

  /** Ends every wait (`aborted`) and every subscription: the engine is closing. */
  close(): void {
    this.closed = true;
    for (const [taskId, watch] of this.watches) {
      for (const finish of [...watch.wakers]) finish('aborted');
      watch.sub.unsubscribe();
      this.watches.delete(taskId);
    }
  }

  private wake(taskId: string, wake: ResultWake): void {
    const watch = this.watches.get(taskId);
    if (watch) for (const finish of [...watch.wakers]) finish(wake);
  }
}
