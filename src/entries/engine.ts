/**
 * `codeq/engine`: the engine in-process (on NATS and Redis, no HTTP server), its SDK transport, the
 * task machine and its decider, the event schemas, and local servers for development and tests.
 */
export { CodeqError, VersionConflictError, isCodeqError } from '../errors.js';
export type { CodeqErrorCode, CodeqErrorOptions } from '../errors.js';
export { Engine } from '../engine/engine.js';
export { DEFAULT_ENGINE_SETTINGS } from '../engine/engine-settings.js';
export type {
  ClaimInput,
  EngineApi,
  EngineObserver,
  EngineOptions,
  EngineSettings,
  EnqueueInput,
} from '../engine/engine.types.js';
export type { BulkCancelInput, BulkCancelResult, CancelFilter } from '../engine/bulk-cancel.js';
export type {
  Artifact,
  Page,
  PublicTaskStatus,
  QueueStats,
  ResultRecord,
  TaskHistory,
  TaskView,
} from '../contract/views.js';
export type { ScheduleApi } from '../engine/schedules.js';
export type {
  CatchUpPolicy,
  OverlapPolicy,
  ScheduleInput,
  SchedulePatch,
  ScheduleSpec,
  ScheduleState,
  ScheduleView,
} from '../contract/schedules.js';
export type { ScheduleEvent, StoredScheduleEvent } from '../events/schedule-event.schema.js';
export { EngineTransport } from '../sdk/engine.transport.js';
export type { EngineTransportOptions } from '../sdk/engine.transport.js';
export {
  backoffDelaySeconds,
  parseBackoffPolicy,
  DEFAULT_BACKOFF,
  BACKOFF_POLICIES,
} from '../actors/backoff.js';
export { decide, evolve, foldEvents } from '../actors/task.decider.js';
export { taskMachine } from '../actors/task.machine.js';
export type {
  BackoffPolicyName,
  BackoffSettings,
  Decision,
  DecisionContext,
  RejectionCode,
  TaskIntent,
  TaskSnapshot,
  TaskStatus,
} from '../actors/task.types.js';
export { EVENT_SCHEMA_VERSION, TASK_EVENT_TYPES, validateTaskEvent } from '../events/task-event.schema.js';
export type {
  StoredTaskEvent,
  TaskEvent,
  TaskEventData,
  TaskEventType,
} from '../events/task-event.schema.js';
export { COMMAND_PATTERN, assertValidCommand } from '../events/subjects.js';
export { LocalServer } from '../local/local-servers.js';
export type { LocalServerOptions } from '../local/local-servers.js';
