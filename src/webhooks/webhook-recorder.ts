/**
 * Writes a result callback's outcome into the task's own history (`webhookDelivered`,
 * `webhookGaveUp`) through the engine, which decides and appends it like every other event.
 */
import type { Logger } from 'pino';
import type { WebhookOutcome } from '../engine/webhook-outcomes.js';

export { WEBHOOK_ACTOR } from '../engine/webhook-outcomes.js';

/** Dependencies of a {@link WebhookRecorder}. */
export interface WebhookRecorderDeps {
  /** The engine's recording of an outcome (see `Engine.recordWebhookOutcome`). */
  engine: {
    recordWebhookOutcome(command: string, taskId: string, outcome: WebhookOutcome): Promise<boolean>;
  };
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
  async record(command: string, taskId: string, outcome: WebhookOutcome): Promise<boolean> {
    try {
      const recorded = await this.deps.engine.recordWebhookOutcome(command, taskId, outcome);
      if (!recorded) this.deps.logger.info({ taskId }, 'webhook outcome not recorded in the task history');
      return recorded;
    } catch (err) {
      this.deps.logger.warn({ err, taskId }, 'cannot record the webhook outcome in the task history');
      return false;
    }
  }
}
