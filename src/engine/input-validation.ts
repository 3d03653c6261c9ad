/**
 * Validation of operation inputs. Every check throws `INVALID_INPUT` with the contract's message
 * before anything is written. The limits are the contract's (src/contract/limits.ts), the same the
 * HTTP schemas enforce.
 */
import { Compile } from 'typebox/compile';
import {
  ARTIFACTS_MAX,
  CLAIM_COMMANDS_MAX,
  CLAIM_COUNT_MAX,
  DELAY_SECONDS_MAX,
  ERROR_MAX_LENGTH,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  LEASE_SECONDS_MAX,
  LEASE_SECONDS_MIN,
  MAX_ATTEMPTS_MAX,
  PRIORITY_MAX,
  PRIORITY_MIN,
  PROGRESS_DATA_MAX_BYTES,
  PROGRESS_MAX,
  PROGRESS_MIN,
  REASON_MAX_LENGTH,
  TASK_ID_PATTERN,
  WORKER_ID_MAX_LENGTH,
  clampPriority,
  zeroAsDefault,
} from '../contract/limits.js';
import { MESSAGES } from '../contract/messages.js';
import { GROUP_KEY_PATTERN, queueLimitsPatchProblem } from '../contract/queue-controls.js';
import type { QueueIntent } from '../actors/queue.decider.js';
import { ArtifactsSchema } from '../contract/worker.schema.js';
import { CodeqError } from '../errors.js';
import { assertValidCommand } from '../events/subjects.js';
import type { TaskEventData } from '../events/task-event.schema.js';
import { webhookUrlProblem } from '../webhooks/url-safety.js';
import { isTraceParent, isTraceState } from '../contract/trace-context.js';
import type { EnqueueInput, EngineSettings } from './engine.types.js';

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new CodeqError('INVALID_INPUT', message, details ? { details } : {});
}

/** A whole number check that refuses NaN, floats, strings and infinities. */
function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** A task id as codeq issues them (UUID) or any subject-safe id a log may hold. */
export function assertTaskId(taskId: unknown): asserts taskId is string {
  if (typeof taskId !== 'string' || !TASK_ID_PATTERN.test(taskId)) {
    throw new CodeqError('NOT_FOUND', 'not found', { details: { taskId: String(taskId).slice(0, 80) } });
  }
}

/**
 * True when a caller limited to `allowedCommands` may act on a task of `command`: the list holds the
 * command or `*`; absent means every command.
 */
export function commandAllowed(allowedCommands: readonly string[] | undefined, command: string): boolean {
  return allowedCommands === undefined || allowedCommands.includes('*') || allowedCommands.includes(command);
}

/**
 * The refusal of a task of a command the caller may not use: exactly that of an unknown task
 * (`NOT_FOUND`), so a limited caller learns nothing about other commands' tasks, not even that they
 * exist. `undefined` when the command is allowed.
 */
export function commandRefusal(
  allowedCommands: readonly string[] | undefined,
  task: { id: string; command: string },
): CodeqError | undefined {
  if (commandAllowed(allowedCommands, task.command)) return undefined;
  return new CodeqError('NOT_FOUND', 'not found', {
    details: { taskId: task.id, reason: 'command not allowed' },
  });
}

/** A worker id (token subject): 1..{@link WORKER_ID_MAX_LENGTH} characters. */
export function assertWorkerId(workerId: unknown): asserts workerId is string {
  if (typeof workerId !== 'string' || workerId.length === 0 || workerId.length > WORKER_ID_MAX_LENGTH) {
    invalid('invalid workerId');
  }
}

/**
 * Validates and normalises one enqueue input into `enqueued` event data: priority clamped
 * ({@link clampPriority}),
 * `maxAttempts <= 0` replaced by the default, `runAt` winning over `delaySeconds`.
 */
export function normaliseEnqueue(
  input: EnqueueInput,
  settings: Pick<EngineSettings, 'maxAttemptsDefault' | 'maxPayloadBytes'>,
  now: number,
): TaskEventData<'enqueued'> {
  if (typeof input !== 'object' || input === null) invalid('invalid body');
  assertValidCommand(input.command);
  if (input.payload === undefined) invalid('payload is required');
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(input.payload);
  } catch (err) {
    throw new CodeqError('INVALID_INPUT', 'payload is not JSON-serialisable', { cause: err });
  }
  if (encoded === undefined) invalid('payload is not JSON-serialisable');
  const bytes = Buffer.byteLength(encoded);
  if (bytes > settings.maxPayloadBytes) {
    invalid(`payload too large (${bytes} bytes; limit ${settings.maxPayloadBytes})`, {
      limit: settings.maxPayloadBytes,
    });
  }
  let priority = 0;
  if (input.priority !== undefined) {
    // Any whole number is clamped, however large (the HTTP schema allows any integer too).
    if (!Number.isInteger(input.priority))
      invalid(`invalid 'priority' (must be an integer ${PRIORITY_MIN}..${PRIORITY_MAX})`);
    priority = clampPriority(input.priority);
  }
  let maxAttempts = settings.maxAttemptsDefault;
  if (input.maxAttempts !== undefined) {
    if (!Number.isInteger(input.maxAttempts)) invalid("invalid 'maxAttempts' (must be an integer)");
    if (input.maxAttempts > MAX_ATTEMPTS_MAX) invalid(`invalid 'maxAttempts' (at most ${MAX_ATTEMPTS_MAX})`);
    if (input.maxAttempts > 0) maxAttempts = input.maxAttempts;
  }
  let runAt: number | undefined;
  if (input.runAt !== undefined) {
    const t = input.runAt instanceof Date ? input.runAt.getTime() : input.runAt;
    // Any time before now, 1970 and earlier included (negative epoch ms), is just due now.
    if (!isInt(t)) invalid(MESSAGES.runAt);
    runAt = t;
  } else if (input.delaySeconds !== undefined) {
    const delay = input.delaySeconds;
    if (!isInt(delay) || delay < 0 || delay > DELAY_SECONDS_MAX) invalid(MESSAGES.delaySeconds);
    if (delay > 0) runAt = now + delay * 1000;
  }
  if (runAt !== undefined && runAt <= now) runAt = undefined;
  const data: TaskEventData<'enqueued'> = { payload: input.payload, priority, maxAttempts };
  if (runAt !== undefined) data.runAt = runAt;
  if (input.webhook !== undefined) {
    const reason = webhookUrlProblem(input.webhook);
    if (reason !== undefined) invalid(MESSAGES.webhook, { reason });
    data.webhook = input.webhook;
  }
  if (input.idempotencyKey !== undefined) {
    const key = input.idempotencyKey;
    if (
      typeof key !== 'string' ||
      key.length === 0 ||
      key.length > IDEMPOTENCY_KEY_MAX_LENGTH ||
      /\s/.test(key)
    ) {
      invalid(`invalid 'idempotencyKey' (1..${IDEMPOTENCY_KEY_MAX_LENGTH} characters, no whitespace)`);
    }
    data.idempotencyKey = key;
  }
  if (input.traceParent !== undefined) {
    if (!isTraceParent(input.traceParent)) invalid(MESSAGES.traceParent);
    data.traceParent = input.traceParent;
  }
  if (input.traceState !== undefined) {
    if (data.traceParent === undefined || !isTraceState(input.traceState)) invalid(MESSAGES.traceState);
    // An empty tracestate carries nothing.
    if (input.traceState !== '') data.traceState = input.traceState;
  }
  if (input.groupKey !== undefined) {
    if (typeof input.groupKey !== 'string' || !GROUP_KEY_PATTERN.test(input.groupKey))
      invalid(MESSAGES.groupKey);
    data.groupKey = input.groupKey;
  }
  return data;
}

/** Validates a count of tasks for batch claims: 1..{@link CLAIM_COUNT_MAX}, default 1. */
export function claimCount(count: unknown): number {
  return integerIn(count, 'count', 1, CLAIM_COUNT_MAX, 1);
}

/** Validates a whole number within [min, max]; `fallback` when absent. */
export function integerIn(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isInt(value) || value < min || value > max)
    invalid(`invalid '${name}' (must be an integer ${min}..${max})`);
  return value;
}

/**
 * A lease or lease extension in whole seconds, {@link LEASE_SECONDS_MIN}..{@link LEASE_SECONDS_MAX};
 * `fallback` (the configured default lease) when absent or 0. `name` is the field (`leaseSeconds`,
 * `extendSeconds`).
 */
export function leaseSeconds(value: unknown, name: string, fallback: number): number {
  return integerIn(zeroAsDefault(value, undefined), name, LEASE_SECONDS_MIN, LEASE_SECONDS_MAX, fallback);
}

/** The commands of a claim: 1..{@link CLAIM_COMMANDS_MAX} valid names, duplicates dropped. */
export function claimCommands(commands: unknown): string[] {
  if (!Array.isArray(commands) || commands.length === 0 || commands.length > CLAIM_COMMANDS_MAX) {
    invalid(`commands: 1..${CLAIM_COMMANDS_MAX} command names expected`);
  }
  commands.forEach((c) => assertValidCommand(c));
  return [...new Set(commands as string[])];
}

/** A batch of 1..`max` items (`what` names them in the message). */
export function assertBatch(items: unknown, max: number, what: string): void {
  if (!Array.isArray(items) || items.length === 0 || items.length > max) {
    invalid(`invalid body: 1..${max} ${what} expected`);
  }
}

/** A nack's `delaySeconds`: any whole number >= 0 (the decider caps it at `backoffMaxSeconds`). */
export function assertNackDelay(delaySeconds: unknown): void {
  if (delaySeconds === undefined) return;
  if (!Number.isInteger(delaySeconds) || (delaySeconds as number) < 0) invalid(MESSAGES.delaySeconds);
}

/** A free-text reason (nack, cancel): absent, or a string of at most {@link REASON_MAX_LENGTH}. */
export function assertReason(reason: unknown): void {
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > REASON_MAX_LENGTH)) {
    invalid(`invalid 'reason' (string of at most ${REASON_MAX_LENGTH} characters)`);
  }
}

/** A failure's error text: 1..{@link ERROR_MAX_LENGTH} characters. */
export function assertErrorText(error: unknown): asserts error is string {
  if (typeof error !== 'string' || error.length === 0 || error.length > ERROR_MAX_LENGTH) {
    invalid(`invalid 'error' (1..${ERROR_MAX_LENGTH} characters)`);
  }
}

const artifactsValidator = Compile(ArtifactsSchema);

/** A result's artifacts: absent, or what the contract's `ArtifactsSchema` allows. */
export function assertArtifacts(artifacts: unknown): void {
  if (artifacts !== undefined && !artifactsValidator.Check(artifacts)) {
    invalid(`invalid 'artifacts' (at most ${ARTIFACTS_MAX} of {name, url?, contentBase64?, contentType?})`);
  }
}

/** Throws `INVALID_INPUT` unless `intent` is a valid queue control (pause, resume, setLimits). */
export function assertQueueIntent(intent: unknown): asserts intent is QueueIntent {
  if (typeof intent !== 'object' || intent === null) invalid('invalid queue control');
  const { type } = intent as { type?: unknown };
  if (type === 'pause') {
    const { reason } = intent as { reason?: unknown };
    if (reason !== undefined) assertReason(reason);
  } else if (type === 'setLimits') {
    const problem = queueLimitsPatchProblem((intent as { patch?: unknown }).patch);
    if (problem !== undefined) invalid(`invalid limits (${problem})`);
  } else if (type !== 'resume') {
    invalid("invalid queue control (type must be 'pause', 'resume' or 'setLimits')");
  }
}

/** A progress report's value: a finite number of percent, {@link PROGRESS_MIN}..{@link PROGRESS_MAX}. */
export function assertProgress(progress: unknown): asserts progress is number {
  if (typeof progress !== 'number' || !(progress >= PROGRESS_MIN && progress <= PROGRESS_MAX)) {
    invalid(`invalid 'progress' (a number of percent, ${PROGRESS_MIN}..${PROGRESS_MAX})`);
  }
}

/** A progress report's data: absent, or a JSON value of at most {@link PROGRESS_DATA_MAX_BYTES} bytes. */
export function assertProgressData(data: unknown): void {
  if (data === undefined) return;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    json = undefined;
  }
  // JSON.stringify answers undefined for a function or a symbol: nothing a log can store.
  if (json === undefined) invalid("invalid 'data' (a JSON value)");
  if (Buffer.byteLength(json) > PROGRESS_DATA_MAX_BYTES) {
    invalid(`invalid 'data' (at most ${PROGRESS_DATA_MAX_BYTES} bytes of JSON)`, {
      limit: PROGRESS_DATA_MAX_BYTES,
    });
  }
}
