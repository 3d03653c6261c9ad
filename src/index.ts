/**
 * codeq's public API. Everything not exported here is internal and may change without notice.
 */
export { CodeqError, VersionConflictError, isCodeqError } from './errors.js';
export type { CodeqErrorCode, CodeqErrorOptions } from './errors.js';

export { Engine } from './engine/engine.js';
export { DEFAULT_ENGINE_SETTINGS } from './engine/engine-settings.js';
export type {
  Artifact,
  ClaimInput,
  EngineApi,
  EngineObserver,
  EngineOptions,
  EngineSettings,
  EnqueueInput,
  Page,
  PublicTaskStatus,
  QueueStats,
  ResultRecord,
  TaskHistory,
  TaskView,
} from './engine/engine.types.js';

export {
  backoffDelaySeconds,
  parseBackoffPolicy,
  DEFAULT_BACKOFF,
  BACKOFF_POLICIES,
} from './actors/backoff.js';
export { decide, evolve, foldEvents } from './actors/task.decider.js';
export { taskMachine } from './actors/task.machine.js';
export type {
  BackoffPolicyName,
  BackoffSettings,
  Decision,
  DecisionContext,
  RejectionCode,
  TaskCommand,
  TaskSnapshot,
  TaskStatus,
} from './actors/task.types.js';

export { EVENT_SCHEMA_VERSION, TASK_EVENT_TYPES, validateTaskEvent } from './events/task-event.schema.js';
export type { StoredTaskEvent, TaskEvent, TaskEventData, TaskEventType } from './events/task-event.schema.js';
export { COMMAND_PATTERN, assertValidCommand } from './events/subjects.js';

export { LocalServer } from './local/local-servers.js';
export type { LocalServerOptions } from './local/local-servers.js';

// The SDK: producer and worker over HTTP or in-process.
export {
  Producer,
  Worker,
  HttpTransport,
  EngineTransport,
  UnrecoverableError,
  RetryLaterError,
  JobAbortedError,
} from './sdk/index.js';
export type {
  Handler,
  Job,
  WorkerEvents,
  WorkerOptions,
  HttpTransportOptions,
  EngineTransportOptions,
} from './sdk/index.js';

// Server, configuration, client and webhooks.
export { buildServer, closeServer } from './api/server.js';
export { loadConfig } from './config.js';
export type { CodeqConfig } from './config.js';
export { startService } from './service/start-service.js';
export { CodeqHttpClient } from './client/http-client.js';
export { verifySignature, signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhooks/signing.js';
export { startWebhooks } from './webhooks/webhook-service.js';
