/**
 * `codeq/client`: what a producer or worker needs to talk to a codeq server over HTTP or NATS, and
 * what a webhook receiver needs to check a signature. It loads none of the server's dependencies
 * (Fastify, ioredis, JetStream, xstate), only NATS's core client for `NatsTransport`: a unit test
 * walks its import graph to keep it so.
 */
export { CodeqError, isCodeqError } from '../errors.js';
export type { CodeqErrorCode, CodeqErrorOptions } from '../errors.js';
export { Producer } from '../sdk/producer.js';
export type {
  CodeqCommands,
  CommandMap,
  DefaultCommands,
  EnqueueItem,
  EnqueueOptions,
  ProducerOptions,
  ResultOptions,
  TaskResult,
} from '../sdk/producer.js';
export { Worker, toResultObject } from '../sdk/worker.js';
export type { FailureInfo, Handler, Job, WorkerEvents, WorkerOptions } from '../sdk/worker.types.js';
export { HttpTransport } from '../sdk/http.transport.js';
export type { HttpTransportOptions } from '../sdk/http.transport.js';
export { NatsTransport } from '../sdk/nats.transport.js';
export type { NatsTransportOptions } from '../sdk/nats.transport.js';
export type {
  Artifact,
  PublicTaskStatus,
  QueueStats,
  ResultRecord,
  Settled,
  Task,
  TaskEventEntry,
  Transport,
  TransportClaim,
  TransportCompletion,
  TransportEnqueue,
  TransportSubscribe,
  TransportSubscription,
} from '../sdk/transport.js';
export {
  JobAbortedError,
  RateLimitedError,
  RetryLaterError,
  UnrecoverableError,
  isLeaseLost,
  isTransient,
} from '../sdk/errors.js';
export { CodeqHttpClient } from '../client/http-client.js';
export type { ScheduleHttpClient } from '../client/schedules.client.js';
export type {
  ScheduleBody,
  ScheduleChange,
  ScheduleEventJsonShape,
  ScheduleJson,
} from '../client/schedules.client.js';
export { verifySignature, signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../webhooks/signing.js';
