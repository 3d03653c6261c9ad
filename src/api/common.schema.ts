/**
 * The HTTP-only parts of the schemas: path parameters and the error statuses a route documents. The
 * bodies, answers and limits are the transport-neutral contract of `src/contract`.
 */
import Type from 'typebox';
import { Command, ErrorBody, TaskId } from '../contract/common.schema.js';

/** A task id path parameter. Other shapes answer 404, as an unknown id would. */
export const TaskIdParams = Type.Object({ id: TaskId }, { additionalProperties: false });

/** A command path parameter. */
export const CommandParams = Type.Object({ command: Command }, { additionalProperties: false });

/** `:id` of a subscription. */
export const SubscriptionIdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
  { additionalProperties: false },
);

/** The standard error responses of guarded routes, for the OpenAPI document. */
export const AUTH_ERRORS = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } as const;

/** Error responses of the create routes. */
export const CREATE_ERRORS = { ...AUTH_ERRORS, 409: ErrorBody, 413: ErrorBody };
