/**
 * The one error class of codeq. Callers branch on {@link CodeqError.code}; the HTTP layer alone maps
 * codes to status codes (`src/api`).
 */

/** Every error code codeq raises. */
export type CodeqErrorCode =
  /** Input failed validation (body, config, CLI flag, command name, sizes, ranges). */
  | 'INVALID_INPUT'
  /** No credentials, or credentials the server does not accept (HTTP 401). */
  | 'UNAUTHORIZED'
  /** No task with that id (or it was purged). */
  | 'NOT_FOUND'
  /** The caller is not the worker holding the task's lease. */
  | 'NOT_OWNER'
  /** The task is not in a state that accepts the command (e.g. complete on a pending task). */
  | 'WRONG_STATE'
  /** The caller's lease has run out; the task will be (or was) repaired. */
  | 'LEASE_EXPIRED'
  /** The task was cancelled: its worker must stop, and its lease operations and result are refused. */
  | 'TASK_CANCELLED'
  /** An idempotency key was reused for a different command. */
  | 'IDEMPOTENCY_CONFLICT'
  /** The event log refused an append because the task moved on (JetStream error 10071). */
  | 'VERSION_CONFLICT'
  /** An event read back from the log does not match its schema or the task machine rejects it. */
  | 'CORRUPT_EVENT'
  /** NATS or Redis could not be reached or did not answer in time. */
  | 'UNAVAILABLE'
  /** A request to the log timed out; the outcome is unknown (retry with the same message id). */
  | 'TIMEOUT'
  /** The server setup is not supported (e.g. nats-server older than 2.9). */
  | 'UNSUPPORTED'
  /** The operation was aborted by the caller or by shutdown. */
  | 'ABORTED'
  /** A bug or an unexpected answer from a dependency. */
  | 'INTERNAL';

/** Options of a {@link CodeqError}. */
export interface CodeqErrorOptions {
  /** The underlying error, kept for logs. */
  cause?: unknown;
  /** Structured details safe to show to the caller (field name, limit, task id...). */
  details?: Record<string, unknown>;
}

/** The single error type thrown by codeq's library code. */
export class CodeqError extends Error {
  /** Machine-readable reason. */
  readonly code: CodeqErrorCode;
  /** Structured details safe to show to the caller. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: CodeqErrorCode, message: string, options: CodeqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CodeqError';
    this.code = code;
    this.details = options.details;
  }
}

/**
 * The log refused an append because the task's last event is not the one the writer expected
 * (JetStream API error 10071). Callers reload the task and decide again.
 */
export class VersionConflictError extends CodeqError {
  /** The version (stream sequence) the writer expected. */
  readonly expectedVersion: number;

  constructor(subject: string, expectedVersion: number, options: CodeqErrorOptions = {}) {
    super('VERSION_CONFLICT', `task moved on: ${subject} is past version ${expectedVersion}`, options);
    this.name = 'VersionConflictError';
    this.expectedVersion = expectedVersion;
  }
}

/** True when `err` is a {@link CodeqError} with the given code. */
export function isCodeqError(err: unknown, code?: CodeqErrorCode): err is CodeqError {
  return err instanceof CodeqError && (code === undefined || err.code === code);
}
