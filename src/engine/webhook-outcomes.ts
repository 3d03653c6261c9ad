/**
 * What the webhook service asks of the engine about one task: where its result callback goes, and
 * recording the callback's outcome (`webhookDelivered`, `webhookGaveUp`) in the task's own history,
 * decided and appended through the one write path like every other event.
 */
import type { TaskIntent } from '../actors/task.types.js';
import { isCodeqError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { IntentHandler } from './intent-handler.js';
import type { TaskView } from '../contract/views.js';

/** Who webhook outcome events name as their actor. */
export const WEBHOOK_ACTOR = 'system:webhooks';

/** A result callback's outcome, as the task machine takes it. */
export type WebhookOutcome = Extract<TaskIntent, { type: 'recordWebhookDelivered' | 'recordWebhookGaveUp' }>;

/** What these operations need. */
export interface WebhookOutcomeDeps {
  handler: IntentHandler;
  log: Pick<EventLog, 'history' | 'lastEvent'>;
  getTask: (taskId: string) => Promise<TaskView>;
}

/** A task's result webhook: from the projection, or from its `enqueued` event when Redis lost it. */
export async function resultWebhookOf(
  deps: WebhookOutcomeDeps,
  command: string,
  taskId: string,
): Promise<string | undefined> {
  try {
    return (await deps.getTask(taskId)).webhook;
  } catch (err) {
    if (!isCodeqError(err, 'NOT_FOUND')) throw err;
  }
  const [first] = await deps.log.history(command, taskId);
  return first?.type === 'enqueued' ? first.data.webhook : undefined;
}

/**
 * Records a callback's outcome in the task's history. Returns false when the task is unknown or the
 * machine refuses it (e.g. a dead-lettered task an admin requeued before its callback finished);
 * true when recorded, or already recorded (a redelivered message after a crash between record and
 * ack: the task's last event carries the same delivery id). Throws when the log or Redis fails.
 */
export async function recordWebhookOutcome(
  deps: WebhookOutcomeDeps,
  command: string,
  taskId: string,
  outcome: WebhookOutcome,
): Promise<boolean> {
  const last = await deps.log.lastEvent(command, taskId);
  if (!last) return false;
  if (
    (last.type === 'webhookDelivered' || last.type === 'webhookGaveUp') &&
    last.data.deliveryId === outcome.data.deliveryId
  ) {
    return true;
  }
  const [result] = await deps.handler.handle([
    { taskId, intent: outcome, actor: WEBHOOK_ACTOR, commandHint: command },
  ]);
  if (result!.ok) return true;
  const code = result!.error.code;
  if (code === 'WRONG_STATE' || code === 'NOT_FOUND' || code === 'NOT_OWNER' || code === 'LEASE_EXPIRED') {
    return false;
  }
  throw result!.error;
}
