/**
 * Maps errors to HTTP answers. This is the only place that knows both `CodeqErrorCode` and HTTP
 * status codes; every error body is `{"error": "<message>"}` as codeQ's clients expect. The NATS
 * interface answers the same status (its `Nats-Service-Error-Code` header) and body through
 * {@link mapError} (`src/nats/nats-endpoint.ts`).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { CodeqErrorCode } from '../errors.js';
import { CodeqError } from '../errors.js';
import { AUTH_MESSAGES } from '../contract/messages.js';
import type { ValidationIssue } from '../contract/validation-message.js';
import { validationMessage } from '../contract/validation-message.js';

/** HTTP status of each error code; codes not listed answer 500. */
const STATUS_BY_CODE: Readonly<Partial<Record<CodeqErrorCode, number>>> = Object.freeze({
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  NOT_OWNER: 403,
  WRONG_STATE: 409,
  LEASE_EXPIRED: 409,
  TASK_CANCELLED: 409,
  IDEMPOTENCY_CONFLICT: 409,
  VERSION_CONFLICT: 409,
  UNAVAILABLE: 503,
  TIMEOUT: 503,
});

/**
 * codeQ's error strings for the worker lease operations, which its clients may compare verbatim.
 * `NOT_FOUND` differs per route (`not-found` for heartbeat/abandon/nack, `task not found` for
 * result, `not found` for reads), so routes pass their own.
 */
export interface ErrorMessageOverrides {
  /** Message for `NOT_FOUND`. */
  notFound?: string;
  /** Message for `NOT_OWNER`; default `not-owner`. */
  notOwner?: string;
  /** Message for `WRONG_STATE` and `LEASE_EXPIRED`; default `not-in-progress`. */
  wrongState?: string;
}

/** An HTTP answer: status and the `{error}` body. */
export interface HttpError {
  /** HTTP status code. */
  status: number;
  /** The body. */
  body: ErrorBodyJson;
  /** `Retry-After` in seconds, set on 503s (a dependency did not answer: the same call may succeed). */
  retryAfterSeconds?: number;
}

/** An error body: codeQ's `{error}`, plus what a batch refused after a partial write did write. */
export interface ErrorBodyJson {
  /** The message. */
  error: string;
  /**
   * The error code, where a 409's message alone would not tell the client what to do:
   * `TASK_CANCELLED` (the task was cancelled: stop working on it, send no result).
   */
  code?: string;
  /** Items of a batch the log took before it failed: input index and task id. */
  written?: { index: number; id: string }[];
  /** Items of that batch not written: input index and error code. */
  failed?: { index: number; code: string }[];
}

/** The item-by-item outcome a partly written batch carries (`details.written`/`failed`), if any. */
function partialWrite(err: CodeqError): Pick<ErrorBodyJson, 'written' | 'failed'> {
  const { written, failed } = err.details ?? {};
  if (!Array.isArray(written) || !Array.isArray(failed)) return {};
  return {
    written: (written as { index: number; id: string }[]).map(({ index, id }) => ({ index, id })),
    // Codes only: an item's message may name hosts.
    failed: (failed as { index: number; code: string }[]).map(({ index, code }) => ({ index, code })),
  };
}

/**
 * `Retry-After` of a 503, in seconds: long enough for a reconnect or a failover to progress, short
 * enough that a client does not stall (each such request already waited `dependencyTimeoutMs`).
 */
export const RETRY_AFTER_SECONDS = 2;

/** What a 503 names as the dependency that did not answer (from `details.dependency`). */
const DEPENDENCY_LABELS: Readonly<Record<string, string>> = {
  nats: 'the event log (NATS)',
  redis: 'the projection store (Redis)',
};

/** The message of a 503: which dependency, when the error says so, and that a retry may succeed. */
function unavailableMessage(err: CodeqError): string {
  const dependency = err.details?.dependency;
  if (dependency === 'webhooks') return 'service unavailable: webhooks are not enabled on this server';
  // codeQ's words, which its clients retry on (test/local_flow.py); the status stays 503.
  if (dependency === 'jwks') return AUTH_MESSAGES.jwksFetch;
  const label = typeof dependency === 'string' ? DEPENDENCY_LABELS[dependency] : undefined;
  const what = label ?? 'a dependency';
  return err.code === 'TIMEOUT'
    ? `service unavailable: ${what} did not answer in time, retry later`
    : `service unavailable: ${what} could not be reached, retry later`;
}

/** A refusal decided by a route itself (e.g. 403 `event type not allowed`), answered as is. */
export class ApiRefusal extends Error {
  /** HTTP status. */
  readonly status: 400 | 403 | 404 | 409;

  constructor(status: 400 | 403 | 404 | 409, message: string) {
    super(message);
    this.name = 'ApiRefusal';
    this.status = status;
  }
}

/** Turns a thrown value into a status and body. Unknown errors become 500 without leaking details. */
export function mapError(err: unknown, overrides: ErrorMessageOverrides = {}): HttpError {
  if (err instanceof ApiRefusal) return { status: err.status, body: { error: err.message } };
  if (err instanceof CodeqError) {
    const status = STATUS_BY_CODE[err.code] ?? 500;
    let message = err.message;
    if (err.code === 'NOT_FOUND' && overrides.notFound) message = overrides.notFound;
    else if (err.code === 'NOT_OWNER') message = overrides.notOwner ?? 'not-owner';
    else if ((err.code === 'WRONG_STATE' || err.code === 'LEASE_EXPIRED') && overrides.wrongState) {
      message = overrides.wrongState;
    } else if (err.code === 'IDEMPOTENCY_CONFLICT') message = 'idempotency conflict';
    // The worker must tell "cancelled: stop, send nothing" from other 409s without parsing prose.
    else if (err.code === 'TASK_CANCELLED') return { status, body: { error: 'cancelled', code: err.code } };
    else if (status === 500) message = 'internal error';
    else if (status === 503) {
      // Not the error's own message: it may name hosts and ports.
      return {
        status,
        body: { error: unavailableMessage(err), ...partialWrite(err) },
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
    }
    return { status, body: { error: message, ...partialWrite(err) } };
  }
  const fe = err as Partial<FastifyError> | undefined;
  if (
    fe &&
    typeof fe === 'object' &&
    typeof fe.statusCode === 'number' &&
    fe.statusCode >= 400 &&
    fe.statusCode < 500
  ) {
    return { status: fe.statusCode, body: { error: fastifyClientMessage(fe) } };
  }
  return { status: 500, body: { error: 'internal error' } };
}

/** Lease operations' codeQ strings (heartbeat, abandon, nack). */
export const LEASE_OP_MESSAGES: ErrorMessageOverrides = {
  notFound: 'not-found',
  notOwner: 'not-owner',
  wrongState: 'not-in-progress',
};

/** Result submission's codeQ strings. */
export const RESULT_MESSAGES: ErrorMessageOverrides = {
  notFound: 'task not found',
  notOwner: 'not-owner',
  wrongState: 'not-in-progress',
};

/** Reads' codeQ strings (GET task, GET result). */
export const READ_MESSAGES: ErrorMessageOverrides = { notFound: 'not found' };

function fastifyClientMessage(err: Partial<FastifyError>): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type (use application/json)';
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // Fastify's message quotes the whole path: never echoed.
      return 'request path too long';
    case 'FST_ERR_BAD_URL':
      return 'invalid request path';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'invalid body';
    default:
      if (err.name === 'SyntaxError' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return 'invalid body: malformed JSON';
      }
      return err.message ? `invalid request: ${err.message}` : 'invalid request';
  }
}

/** Fastify error handler: validation errors, parser errors and thrown errors as `{error}` bodies. */
export function createErrorHandler() {
  return function errorHandler(
    error: FastifyError & { validation?: ValidationIssue[]; validationContext?: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    if (error.validation) {
      const context = error.validationContext ?? 'body';
      const schemas = request.routeOptions.schema as Record<string, unknown> | undefined;
      const schema = schemas?.[context === 'querystring' ? 'querystring' : context];
      if (context === 'params' && request.routeOptions.config.notFound) {
        // A malformed id cannot name a task: answer as for an unknown one.
        return reply.code(404).send({ error: request.routeOptions.config.notFound });
      }
      return reply.code(400).send({ error: validationMessage(error.validation, context, schema) });
    }
    const mapped = mapError(error, request.routeOptions.config.messages);
    // Logged on the request's one line (request-log.ts), not a line of its own.
    request.failure = error;
    if (mapped.retryAfterSeconds !== undefined) reply.header('retry-after', String(mapped.retryAfterSeconds));
    return reply.code(mapped.status).send(mapped.body);
  };
}

/**
 * Fastify's `frameworkErrors`: refusals by the router before any route or hook runs (a path
 * parameter over `maxParamLength`: 414; malformed percent-encoding: 400), as `{error}` bodies that
 * do not echo the path, with the request id.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const mapped = mapError(error);
  return reply.header('x-request-id', request.id).code(mapped.status).send(mapped.body);
}
