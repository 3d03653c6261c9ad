/**
 * Writes a result callback's outcome into the task's own history (`webhookDelivered`,
 * `webhookGaveUp`), decided by the task machine like every other event and appended with the
 * task's version, then applied to the projection (the version moves; nothing else does).
 */
import type { Logger } from 'pino';
import { decide, foldEvents } from '../actors/task.decider.js';
import type { TaskCommand } from '../actors/task.types.js';
import { isCodeqError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { EventPublisher } from '../events/event-publisher.js';
import { taskSubject } from '../events/subjects.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import type { ProjectionStore } from '../projections/projection.store.js';

/** Who webhook outcome events name as their actor. */
export const WEBHOOK_ACTOR = 'system:webhooks';

/** Dependencies of a {@link WebhookRecorder}. */
export interface WebhookRecorderDeps {
  /** Reads the task's history (to fold its state and version). */
  log: Pick<EventLog, 'history'>;
  /** Appends with the expected version. */
  publisher: Pick<EventPublisher, 'append'>;
  /** The projection the event is applied to (read-your-writes; the projector would otherwise). */
  store: Pick<ProjectionStore, 'apply'>;
  /** Subject prefix of the task stream. */
  subjectPrefix: string;
  logger: Logger;
}

/** Records webhook outcomes as task events. */
export class WebhookRecorder {
  constructor(private readonly deps: WebhookRecorderDeps) {}

  /**
   * Appends the outcome. Returns false (and logs) when the machine refuses it, e.g. a dead-lettered
   * task an admin requeued before its callback finished: the outcome then stays in the log line and
   * the metric only. Never throws.
   */
  async record(
    command: string,
    taskId: string,
    outcome: Extract<TaskCommand, { type: 'recordWebhookDelivered' | 'recordWebhookGaveUp' }>,
  ): Promise<boolean> {
    const { log, publisher, store, subjectPrefix, logger } = this.deps;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const history = await log.history(command, taskId);
        if (history.length === 0) return false;
        const last = history[history.length - 1] as StoredTaskEvent;
        // A redelivered message may have been recorded already (crash between record and ack).
        if (
          (last.type === 'webhookDelivered' || last.type === 'webhookGaveUp') &&
          last.data.deliveryId === outcome.data.deliveryId
        ) {
          return true;
        }
        const snapshot = foldEvents(history);
        const decision = decide(snapshot, outcome, {
          taskId,
          command,
          actor: WEBHOOK_ACTOR,
          now: Date.now(),
          backoff: { policy: 'fixed', baseSeconds: 0, maxSeconds: 0 },
        });
        if (!decision.ok) {
          logger.info(
            { taskId, reason: decision.message },
            'webhook outcome not recorded in the task history',
          );
          return false;
        }
        const event = decision.events[0]!;
        const ack = await publisher.append({
          subject: taskSubject(subjectPrefix, command, taskId),
          event,
          expectedVersion: snapshot.version,
        });
        await store.apply([{ ...event, seq: ack.seq } as StoredTaskEvent]).catch(() => undefined);
        return true;
      } catch (err) {
        if (isCodeqError(err, 'VERSION_CONFLICT')) continue;
        logger.warn({ err, taskId }, 'cannot record the webhook outcome in the task history');
        return false;
      }
    }
    return false;
  }
}
