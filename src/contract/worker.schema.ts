/** Schemas of the worker operations (claim, heartbeat, abandon, nack, result, batch results). */
import Type from 'typebox';
import { ArtifactSchema, Command, ResultRecordSchema, TaskId } from './common.schema.js';
import {
  ARTIFACTS_MAX,
  CLAIM_COMMANDS_MAX,
  CLAIM_COUNT_MAX,
  ERROR_MAX_LENGTH,
  LEASE_SECONDS_MAX,
  LEASE_SECONDS_MIN,
  PROGRESS_DATA_MAX_BYTES,
  PROGRESS_MAX,
  PROGRESS_MIN,
  REASON_MAX_LENGTH,
  RESULT_BATCH_MAX,
  WAIT_SECONDS_MAX,
} from './limits.js';
import { MESSAGES } from './messages.js';

/** A lease length field (`leaseSeconds`, `extendSeconds`); 0 means the default (`zeroAsDefault`). */
const LeaseSeconds = Type.Integer({
  minimum: 0,
  maximum: LEASE_SECONDS_MAX,
  description: `seconds, ${LEASE_SECONDS_MIN}..${LEASE_SECONDS_MAX}; 0 or absent: defaultLeaseSeconds (300)`,
});

/** Claim body (optional: defaults everywhere). */
export const ClaimBody = Type.Object(
  {
    commands: Type.Optional(
      Type.Array(Command, { maxItems: CLAIM_COMMANDS_MAX, description: "default: the token's eventTypes" }),
    ),
    leaseSeconds: Type.Optional(LeaseSeconds),
    waitSeconds: Type.Optional(
      Type.Integer({ minimum: 0, description: `long-poll; default 0, capped at ${WAIT_SECONDS_MAX}` }),
    ),
    count: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: CLAIM_COUNT_MAX,
        description: 'batch claim: answers {tasks:[...]}',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Heartbeat body (optional). */
export const HeartbeatBody = Type.Object(
  { extendSeconds: Type.Optional(LeaseSeconds) },
  { additionalProperties: false },
);

/** Progress body: a percentage and, optionally, a small JSON of the worker's own. */
export const ProgressBody = Type.Object(
  {
    progress: Type.Number({
      minimum: PROGRESS_MIN,
      maximum: PROGRESS_MAX,
      description: `percent done, ${PROGRESS_MIN}..${PROGRESS_MAX} (fractions allowed)`,
    }),
    data: Type.Optional(
      Type.Unknown({ description: `any JSON, at most ${PROGRESS_DATA_MAX_BYTES} bytes encoded` }),
    ),
  },
  { additionalProperties: false },
);

/** Progress answer: the value recorded and when. */
export const ProgressResponse = Type.Object({
  ok: Type.Literal(true),
  progress: Type.Number(),
  progressAt: Type.String({ description: 'RFC3339 UTC' }),
});

/** Abandon body (none expected; `{}` tolerated). */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

/** Nack body (optional). */
export const NackBody = Type.Object(
  {
    delaySeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        'x-error': MESSAGES.delaySeconds,
        description: 'capped at backoffMaxSeconds; 0 or absent: the backoff policy',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: REASON_MAX_LENGTH })),
    deadLetter: Type.Optional(
      Type.Boolean({ description: 'do not retry: dead-letter now, whatever the attempts (codeq addition)' }),
    ),
    rateLimited: Type.Optional(
      Type.Boolean({
        description:
          'rate limited downstream (codeq addition): the attempt is not spent; the task, and its group key or else its queue, wait delaySeconds (default: the backoff)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The artifacts of one result. */
export const ArtifactsSchema = Type.Array(ArtifactSchema, { maxItems: ARTIFACTS_MAX });

const resultFields = {
  status: Type.Union([Type.Literal('COMPLETED'), Type.Literal('FAILED')]),
  result: Type.Optional(Type.Unknown({ description: 'object, required when COMPLETED' })),
  error: Type.Optional(Type.String({ maxLength: ERROR_MAX_LENGTH, description: 'required when FAILED' })),
  artifacts: Type.Optional(ArtifactsSchema),
};

/** Result body. */
export const ResultBody = Type.Object(resultFields, { additionalProperties: false });

/** Batch results body: many results at once. */
export const BatchResultsBody = Type.Object(
  {
    results: Type.Array(Type.Object({ taskId: TaskId, ...resultFields }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: RESULT_BATCH_MAX,
    }),
  },
  { additionalProperties: false },
);

/** Batch results answer: one entry per input, in order. */
export const BatchResultsResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      taskId: Type.String(),
      ok: Type.Boolean(),
      result: Type.Optional(ResultRecordSchema),
      status: Type.Optional(Type.Integer({ description: 'HTTP status this item would have had' })),
      error: Type.Optional(Type.String()),
      code: Type.Optional(Type.String({ description: "as in an error body: 'TASK_CANCELLED'" })),
    }),
  ),
});

/** Nack answer. */
export const NackResponse = Type.Object({
  status: Type.Union([Type.Literal('requeued'), Type.Literal('dlq')]),
  delaySeconds: Type.Integer(),
});

/**
 * The conditional rules of a result body that a schema cannot say: `result` (a JSON object) when
 * COMPLETED, a non-empty `error` when FAILED. The refusal message, or `undefined` when the body is
 * fine.
 */
export function resultBodyProblem(body: {
  status: string;
  result?: unknown;
  error?: string;
}): string | undefined {
  if (body.status === 'COMPLETED') {
    if (body.result === undefined) return "'result' is required when status is COMPLETED";
    if (typeof body.result !== 'object' || body.result === null || Array.isArray(body.result))
      return "'result' must be a JSON object";
    return undefined;
  }
  if (body.error === undefined || body.error === '') return "'error' is required when status is FAILED";
  return undefined;
}
