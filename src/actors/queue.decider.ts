/**
 * The queue decider: what an operator's control intent (pause, resume, change limits) becomes,
 * and what each control event does to the queue's settings. Pure, like the task decider: the
 * control write path (`engine/queue-controls.ts`) loads, decides, appends and applies.
 */
import {
  DEFAULT_QUEUE_SETTINGS,
  type QueueLimitsPatch,
  type QueueSettings,
} from '../contract/queue-controls.js';
import type { ControlEvent, ControlEventType } from '../events/control-event.schema.js';

/** What an operator asks of a queue. */
export type QueueIntent =
  | { type: 'pause'; reason?: string | undefined }
  | { type: 'resume' }
  | { type: 'setLimits'; patch: QueueLimitsPatch };

/** The event a control intent becomes (without its envelope), or none when it changes nothing. */
export type QueueDecision =
  | { changed: false }
  | { changed: true; type: ControlEventType; data: ControlEvent['data']; settings: QueueSettings };

/** Applies a limits patch: a value sets, `null` removes, an absent field keeps. */
function patched(settings: QueueSettings, patch: QueueLimitsPatch): QueueSettings {
  const next: QueueSettings = { ...settings };
  for (const key of ['concurrency', 'groupConcurrency', 'rate', 'groupRate'] as const) {
    const value = patch[key];
    if (value === null) delete next[key];
    else if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  return next;
}

/**
 * Decides a control intent on the queue's current settings. Pausing a paused queue, resuming a
 * running one or a patch that changes nothing writes no event (the answer is the same either way).
 */
export function decideQueue(settings: QueueSettings, intent: QueueIntent): QueueDecision {
  switch (intent.type) {
    case 'pause':
      if (settings.paused) return { changed: false };
      return {
        changed: true,
        type: 'queuePaused',
        data: intent.reason === undefined ? {} : { reason: intent.reason },
        settings: { ...settings, paused: true },
      };
    case 'resume':
      if (!settings.paused) return { changed: false };
      return { changed: true, type: 'queueResumed', data: {}, settings: { ...settings, paused: false } };
    case 'setLimits': {
      const next = patched(settings, intent.patch);
      if (JSON.stringify(next) === JSON.stringify(settings)) return { changed: false };
      return { changed: true, type: 'queueLimitsChanged', data: { patch: intent.patch }, settings: next };
    }
  }
}

/**
 * The settings after `event`. Each event records the settings it produced, and the fold checks that
 * record against its own reading of the event: the two agree for every event this decider made.
 */
export function evolveQueue(settings: QueueSettings, event: ControlEvent): QueueSettings {
  switch (event.type) {
    case 'queuePaused':
      return { ...settings, paused: true };
    case 'queueResumed':
      return { ...settings, paused: false };
    case 'queueLimitsChanged':
      return patched(settings, event.data.patch);
  }
}

/** The settings a queue's control history folds into (none: {@link DEFAULT_QUEUE_SETTINGS}). */
export function foldQueue(events: readonly ControlEvent[]): QueueSettings {
  return events.reduce(evolveQueue, DEFAULT_QUEUE_SETTINGS);
}
