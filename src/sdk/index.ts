/**
 * codeq's Node SDK: a {@link Producer} and a {@link Worker} over one {@link Transport} interface,
 * with three transports: {@link HttpTransport} (remote, through a codeq server), {@link NatsTransport}
 * (remote, through codeq's NATS service; workers get tasks pushed) and {@link EngineTransport}
 * (in-process on NATS and Redis).
 */
export { Producer } from './producer.js';
export type {
  CodeqCommands,
  CommandMap,
  DefaultCommands,
  EnqueueItem,
  EnqueueOptions,
  ProducerOptions,
  ResultOptions,
  TaskResult,
} from './producer.js';
export { Worker, toResultObject } from './worker.js';
export type { FailureInfo, Handler, Job, WorkerEvents, WorkerOptions } from './worker.types.js';
export { QueueAdmin } from './queue-admin.js';
export type {
  QueueAdminOptions,
  QueueAdminTransport,
  QueueControlAnswer,
  QueueControlEntry,
  QueueDetail,
  QueueIntent,
  QueueLimitsPatch,
  QueueSettings,
} from './queue-admin.js';
export { ScheduleAdmin } from './schedule-admin.js';
export type {
  CatchUpPolicy,
  OverlapPolicy,
  Schedule,
  ScheduleAdminOptions,
  ScheduleAdminTransport,
  ScheduleEventEntry,
  ScheduleInput,
  ScheduleOperations,
  SchedulePatch,
  ScheduleRun,
} from './schedule-admin.js';
export { EngineSchedules, scheduleFromView } from './schedule-engine.transport.js';
export { HttpSchedules, scheduleFromJson } from './schedule-http.transport.js';
export { HttpTransport, taskFromJson, resultFromJson } from './http.transport.js';
export type { HttpTransportOptions } from './http.transport.js';
export { NatsTransport } from './nats.transport.js';
export type { NatsTransportOptions } from './nats.transport.js';
export { EngineTransport, taskFromView } from './engine.transport.js';
export type { EngineTransportOptions } from './engine.transport.js';
export type {
  Artifact,
  BulkCancelOptions,
  BulkCancelSummary,
  PublicTaskStatus,
  QueueStats,
  ResultRecord,
  Settled,
  Task,
  TaskEventEntry,
  Transport,
  TransportClaim,
  TransportCancelFilter,
  TransportCompletion,
  TransportEnqueue,
} from './transport.js';
export { Batcher } from './batcher.js';
export type { BatcherOptions } from './batcher.js';
export { backoffDelayMs, resolveRetry, sleep, withRetry } from './retry.js';
export type { ResolvedRetryOptions, RetryOptions } from './retry.js';
export {
  AbandonError,
  CodeqError,
  JobAbortedError,
  LEASE_LOST_CODES,
  LetLeaseExpireError,
  RateLimitedError,
  RetryLaterError,
  UnrecoverableError,
  isCancellation,
  isCodeqError,
  isLeaseLost,
  isTransient,
  toCodeqError,
} from './errors.js';
export type { CodeqErrorCode, JobAbortReason } from './errors.js';
export { TypedEmitter } from './typed-emitter.js';
export type { EventMap } from './typed-emitter.js';
