/**
 * Validation of operation inputs. Every check throws `INVALID_INPUT` with the contract's message
 * before anything is written.
 */
import { CodeqError } from '../errors.js';
import { TASK_ID_PATTERN, assertValidCommand } from '../events/subjects.js';
import type { TaskEventData } from '../events/task-event.schema.js';
import { webhookUrlProblem } from '../webhooks/url-safety.js';
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

/** A worker id (token subject): 1..256 characters. */
export function assertWorkerId(workerId: unknown): asserts workerId is string {
  if (typeof workerId !== 'string' || workerId.length === 0 || workerId.length > 256) {
    invalid('invalid workerId');
  }
}

/**
 * Validates and normalises one enqueue input into `enqueued` event data: priority clamped to 0..9,
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
    if (!isInt(input.priority)) invalid("invalid 'priority' (must be an integer 0..9)");
    priority = Math.min(9, Math.max(0, input.priority));
  }
  let maxAttempts = settings.maxAttemptsDefault;
  if (input.maxAttempts !== undefined) {
    if (!isInt(input.maxAttempts)) invalid("invalid 'maxAttempts' (must be an integer)");
    if (input.maxAttempts > 1000) invalid("invalid 'maxAttempts' (at most 1000)");
    if (input.maxAttempts > 0) maxAttempts = input.maxAttempts;
  }
  let runAt: number | undefined;
  if (input.runAt !== undefined) {
    const t = input.runAt instanceof Date ? input.runAt.getTime() : input.runAt;
    // Any time before now, 1970 and earlier included (negative epoch ms), is just due now.
    if (!isInt(t)) invalid("invalid 'runAt' (use RFC3339)");
    runAt = t;
  } else if (input.delaySeconds !== undefined) {
    if (!isInt(input.delaySeconds) || input.delaySeconds < 0)
      invalid("invalid 'delaySeconds' (must be >= 0)");
    if (input.delaySeconds > 0) runAt = now + input.delaySeconds * 1000;
  }
  if (runAt !== undefined && runAt <= now) runAt = undefined;
  const data: TaskEventData<'enqueued'> = { payload: input.payload, priority, maxAttempts };
  if (runAt !== undefined) data.runAt = runAt;
  if (input.webhook !== undefined) {
    const reason = webhookUrlProblem(input.webhook);
    if (reason !== undefined) invalid('invalid webhook url', { reason });
    data.webhook = input.webhook;
  }
  if (input.idempotencyKey !== undefined) {
    const key = input.idempotencyKey;
    if (typeof key !== 'string' || key.length === 0 || key.length > 256 || /\s/.test(key)) {
      invalid("invalid 'idempotencyKey' (1..256 characters, no whitespace)");
    }
    data.idempotencyKey = key;
  }
  return data;
}

/** Clamps a count of tasks for batch claims: 1..1000, default 1. */
export function claimCount(count: unknown): number {
  if (count === undefined) return 1;
  if (!isInt(count) || count < 1 || count > 1000) invalid("invalid 'count' (must be an integer 1..1000)");
  return count;
}

/** Validates a duration in whole seconds within [min, max]; `fallback` when absent. */
export function seconds(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isInt(value) || value < min || value > max)
    invalid(`invalid '${name}' (must be an integer ${min}..${max})`);
  return value;
}
