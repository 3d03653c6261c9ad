/**
 * Producer routes: create, reads (task, result with its long-poll, history) and cancel. Create
 * answers 202 with the task, as codeQ does; an idempotency key seen before returns the first task.
 * Batch create is in `batch.routes.ts`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import type { EnqueueInput } from '../engine/engine.types.js';
import { CodeqError } from '../errors.js';
import { ErrorBody, TaskSchema, TaskViewQuery } from '../contract/common.schema.js';
import { RESULT_WAIT_SECONDS_MAX } from '../contract/limits.js';
import { MESSAGES } from '../contract/messages.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import { isTraceParent, isTraceState } from '../contract/trace-context.js';
import {
  CancelBody,
  CreateTaskBody,
  HistoryResponse,
  ResultQuery,
  TaskResultResponse,
} from '../contract/task.schema.js';
import { webhookUrlProblem } from '../webhooks/url-safety.js';
import { allowsCommand, assertTaskVisible } from './auth/auth.types.js';
import type { Principal } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { requestSignal } from './claim-handler.js';
import { AUTH_ERRORS, CREATE_ERRORS, TaskIdParams } from './common.schema.js';
import { ApiRefusal, READ_MESSAGES } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';
import { historyJson, resultJson, taskJson, taskWire } from './task-json.js';

/** The trace context a task is given. */
type TraceContext = Pick<EnqueueInput, 'traceParent' | 'traceState'>;

/** W3C trace context of a request's `traceparent`/`tracestate` headers (invalid ones are ignored, as the spec says). */
export function traceOfHeaders(headers: IncomingHttpHeaders): TraceContext {
  const parent = headers.traceparent;
  if (typeof parent !== 'string' || !isTraceParent(parent)) return {};
  const state = headers.tracestate;
  return typeof state === 'string' && state !== '' && isTraceState(state)
    ? { traceParent: parent, traceState: state }
    : { traceParent: parent };
}

/**
 * Checks one create body beyond its schema and turns it into engine input. `where` prefixes messages
 * of batch items (`tasks[3]: `); `trace` is the request headers' trace context, used when the body
 * gives none.
 */
export function toEnqueueInput(
  body: Static<typeof CreateTaskBody>,
  principal: Principal,
  where = '',
  trace: TraceContext = {},
): EnqueueInput {
  if (!allowsCommand(principal, body.command)) throw new ApiRefusal(403, `${where}event type not allowed`);
  const input: EnqueueInput = {
    command: body.command,
    payload: body.payload,
    actor: `producer:${principal.subject}`,
  };
  // Out-of-range priorities are clamped by the engine (`clampPriority`), not refused.
  if (body.priority !== undefined) input.priority = body.priority;
  if (body.maxAttempts !== undefined && body.maxAttempts > 0) input.maxAttempts = body.maxAttempts;
  if (body.webhook !== undefined) {
    // The engine's rule, checked here too so a batch item's message says which item.
    if (webhookUrlProblem(body.webhook) !== undefined)
      throw new ApiRefusal(400, `${where}${MESSAGES.webhook}`);
    input.webhook = body.webhook;
  }
  if (body.idempotencyKey !== undefined) input.idempotencyKey = body.idempotencyKey;
  if (body.groupKey !== undefined) input.groupKey = body.groupKey;
  if (body.runAt !== undefined) {
    const at = parseRfc3339(body.runAt);
    if (at === undefined) throw new ApiRefusal(400, `${where}${MESSAGES.runAt}`);
    input.runAt = at;
  } else if (body.delaySeconds !== undefined) {
    input.delaySeconds = body.delaySeconds;
  }
  if (body.traceParent !== undefined) {
    if (!isTraceParent(body.traceParent)) throw new ApiRefusal(400, `${where}${MESSAGES.traceParent}`);
    input.traceParent = body.traceParent;
    if (body.traceState !== undefined) {
      if (!isTraceState(body.traceState)) throw new ApiRefusal(400, `${where}${MESSAGES.traceState}`);
      input.traceState = body.traceState;
    }
  } else if (body.traceState !== undefined) {
    throw new ApiRefusal(400, `${where}${MESSAGES.traceState}`);
  } else {
    Object.assign(input, trace);
  }
  return input;
}

/** Registers the producer routes. */
export const tasksRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config } = deps;
  const producer = createAuthHook(auth, { kind: 'producer' });
  const reader = createAuthHook(auth, { kind: 'any' });
  const readConfig = { notFound: READ_MESSAGES.notFound, messages: READ_MESSAGES };

  app.post(
    '/tasks',
    {
      onRequest: producer,
      schema: {
        summary: 'Create a task',
        tags: ['producer'],
        querystring: TaskViewQuery,
        body: CreateTaskBody,
        response: { 202: TaskSchema, ...CREATE_ERRORS },
      },
    },
    async (request, reply) => {
      const input = toEnqueueInput(request.body, principalOf(request), '', traceOfHeaders(request.headers));
      const task = await engine.enqueue(input);
      return reply.code(202).send(taskJson(task, taskWire(request, config)));
    },
  );

  app.get(
    '/tasks/:id',
    {
      onRequest: reader,
      config: readConfig,
      schema: {
        summary: 'Get a task',
        tags: ['producer', 'worker'],
        params: TaskIdParams,
        querystring: TaskViewQuery,
        response: { 200: TaskSchema, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const task = await engine.getTask(request.params.id);
      assertTaskVisible(principalOf(request), task);
      return reply.send(taskJson(task, taskWire(request, config)));
    },
  );

  app.get(
    '/tasks/:id/result',
    {
      onRequest: reader,
      config: readConfig,
      schema: {
        summary: "Get a task's result (404 until it has one); waitSeconds long-polls for it",
        tags: ['producer', 'worker'],
        params: TaskIdParams,
        querystring: ResultQuery,
        response: { 200: TaskResultResponse, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      let { task, result } = await engine.getResult(request.params.id);
      // The command is checked before anyone waits on the task.
      assertTaskVisible(principalOf(request), task);
      const waitSeconds = Math.min(RESULT_WAIT_SECONDS_MAX, request.query.waitSeconds ?? 0);
      if (!result && waitSeconds > 0 && !deps.claims.closing) {
        const { signal, release } = requestSignal(reply, deps.claims);
        try {
          ({ task, result } = await engine.waitForResult(request.params.id, waitSeconds, signal));
        } finally {
          release();
        }
      }
      // codeQ answers 404 while the result does not exist yet.
      if (!result) throw new CodeqError('NOT_FOUND', 'no result yet');
      return reply.send({ task: taskJson(task, taskWire(request, config)), result: resultJson(result) });
    },
  );

  app.get(
    '/tasks/:id/history',
    {
      onRequest: reader,
      config: readConfig,
      schema: {
        summary: "A task's every event and folded state (codeq addition)",
        tags: ['producer', 'worker'],
        params: TaskIdParams,
        response: { 200: HistoryResponse, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      // The command is checked before the log is read (history reads every event of the task).
      assertTaskVisible(principal, await engine.getTask(request.params.id));
      return reply.send(historyJson(await engine.history(request.params.id)));
    },
  );

  app.post(
    '/tasks/:id/cancel',
    {
      onRequest: producer,
      config: { ...readConfig, optionalBody: true, strictBody: true },
      schema: {
        summary: 'Cancel a pending or running task; its worker is told at its next call (codeq addition)',
        tags: ['producer'],
        params: TaskIdParams,
        querystring: TaskViewQuery,
        body: CancelBody,
        response: { 200: TaskSchema, ...AUTH_ERRORS, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const task = await engine.cancel({
        taskId: request.params.id,
        actor: `${principal.role === 'admin' ? 'admin' : 'producer'}:${principal.subject}`,
        allowedCommands: principal.eventTypes,
        ...(request.body.reason === undefined ? {} : { reason: request.body.reason }),
      });
      return reply.send(taskJson(task, taskWire(request, config)));
    },
  );
};
