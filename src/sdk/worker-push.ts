/**
 * A worker's push mode (`Transport.subscribe`, over NATS): instead of
 * claim loops, one subscription the server sends tasks to, with credits kept at the worker's free
 * slots. A slot coming free grants a credit back; a delivery with no slot free is given back.
 */
import type { CodeqError } from '../errors.js';
import type { Task, TransportSubscribe, TransportSubscription } from './transport.js';
import type { HeldTasks } from './worker-slots.js';

/** What push mode needs of the worker. */
export interface PushHost {
  /** The transport's subscribe. */
  subscribe: (input: TransportSubscribe) => TransportSubscription;
  /** Commands to be sent tasks of. */
  commands: string[];
  /** Lease per task, whole seconds. */
  leaseSeconds: number;
  /** The held tasks (a freed slot wakes the credit top-up). */
  held: HeldTasks<unknown>;
  /** Tasks the worker can take now (0 once stopping). */
  capacity(): number;
  /** Starts a delivered task (a slot was free). */
  take(task: Task): void;
  /** True once the worker takes no more tasks (closing, `maxTasks` reached, a permanent error). */
  done(): boolean;
  /** A credit request failed. */
  onError(error: CodeqError): void;
}

/** Takes pushed tasks until `host.done()`; resolves once the subscription ended. */
export async function receivePushed(host: PushHost): Promise<void> {
  const subscription = host.subscribe({
    commands: host.commands,
    leaseSeconds: host.leaseSeconds,
    capacity: () => host.capacity(),
    deliver: (task) => {
      if (host.capacity() <= 0) return false;
      host.take(task);
      return true;
    },
    onError: (error) => host.onError(error),
  });
  try {
    while (!host.done()) {
      await host.held.waitForSlot();
      subscription.refill();
    }
  } finally {
    await subscription.close();
  }
}
