/**
 * Schemas of codeQ's batch operations (`POST /tasks/batch`, `POST /tasks/claim/batch`,
 * `POST /tasks/batch/results`): every item answers on its own, in input order, as codeQ's server
 * does. codeq's own all-or-nothing batch create keeps `BatchCreateBody` and answers `{tasks}`.
 */
import Type from 'typebox';
import { Command, ResultRecordSchema, TaskSchema, TaskViewQueryFields } from './common.schema.js';
import {
  BATCH_CLAIM_COUNT_MAX,
  CLAIM_COMMANDS_MAX,
  LEASE_SECONDS_MAX,
  LEASE_SECONDS_MIN,
  WAIT_SECONDS_MAX,
} from './limits.js';

/** `POST /tasks/claim/batch` body (codeQ's `batchClaimReq`). */
export const BatchClaimBody = Type.Object(
  {
    count: Type.Integer({
      minimum: 1,
      maximum: BATCH_CLAIM_COUNT_MAX,
      'x-error': `invalid 'count' (1..${BATCH_CLAIM_COUNT_MAX})`,
      description: `tasks to claim, 1..${BATCH_CLAIM_COUNT_MAX}`,
    }),
    commands: Type.Optional(
      Type.Array(Command, { maxItems: CLAIM_COMMANDS_MAX, description: "default: the token's eventTypes" }),
    ),
    leaseSeconds: Type.Optional(
      Type.Integer({
        minimum: LEASE_SECONDS_MIN,
        maximum: LEASE_SECONDS_MAX,
        description: 'default defaultLeaseSeconds (300)',
      }),
    ),
    waitSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: `codeq addition: long-poll like POST /tasks/claim (default 0, capped at ${WAIT_SECONDS_MAX})`,
      }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /tasks/claim/batch` answer. */
export const BatchClaimResponse = Type.Object({ tasks: Type.Array(TaskSchema) });

/** `POST /tasks/batch` answer (codeQ's): per item the task, or why it was not created. */
export const BatchCreateResults = Type.Object({
  results: Type.Array(Type.Object({ task: Type.Optional(TaskSchema), error: Type.Optional(Type.String()) })),
});

/** `POST /tasks/batch?allOrNothing=true` query. */
export const BatchCreateQuery = Type.Object(
  {
    ...TaskViewQueryFields,
    allOrNothing: Type.Optional(
      Type.Boolean({
        description:
          "codeq's batch: every item valid or none written; answers 202 {tasks} (default false: codeQ's per-item answer)",
      }),
    ),
  },
  { additionalProperties: false },
);

/** `POST /tasks/batch/results` answer (codeQ's): per item the record, or why it was refused. */
export const BatchResultItemsResponse = Type.Object({
  results: Type.Array(
    Type.Object({
      taskId: Type.String(),
      result: Type.Optional(ResultRecordSchema),
      error: Type.Optional(Type.String()),
    }),
  ),
});
