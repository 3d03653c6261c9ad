/**
 * Producer routes: create (single and batch), reads (task, result, history) and cancel. Create
 * answers 202 with the task, as codeQ does; an idempotency key seen before returns the first task.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import type { EnqueueInput } from '../engine/engine.types.js';
import { CodeqError } from '../errors.js';
import Type from 'typebox';
import { ErrorBody, PartialWriteErrorBody, TaskSchema } from '../contract/common.schema.js';
import { MESSAGES } from '../contract/messages.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import {
  BatchCreateBody,
  CancelBody,
  CreateTaskBody,
  HistoryResponse,
  TaskResultResponse,
} from '../contract/task.schema.js';
import { webhookUrlProblem } from '../webhooks/url-safety.js';
import { allowsCommand, assertTaskVisible } from './auth/auth.types.js';
import type { Principal } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { AUTH_ERRORS, CREATE_ERRORS, TaskIdParams } from './common.schema.js';
import { ApiRefusal, READ_MESSAGES } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';
import { historyJson, resultJson, taskJson } from './task-json.js';

/**
 * Checks one create body beyond its schema and turns it into engine input. `where` prefixes messages
 * of batch items (`tasks[3]: `).
 */
function toEnqueueInput(body: Static<typeof CreateTaskBody>, principal: Principal, where = ''): EnqueueInput {
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
  return input;
}

/** Registers the producer routes. */
export const tasksRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth } = deps;
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
        body: CreateTaskBody,
        response: { 202: TaskSchema, ...CREATE_ERRORS },
      },
    },
    async (request, reply) => {
      const input = toEnqueueInput(request.body, principalOf(request));
      const task = await engine.enqueue(input);
      return reply.code(202).send(taskJson(task));
    },
  );

  app.post(
    '/tasks/batch',
    {
      onRequest: producer,
      schema: {
        summary: 'Create many tasks in one call (codeq addition)',
        tags: ['producer'],
        body: BatchCreateBody,
        response: {
          202: Type.Object({ tasks: Type.Array(TaskSchema) }),
          ...CREATE_ERRORS,
          503: PartialWriteErrorBody,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const inputs = request.body.tasks.map((t, i) => toEnqueueInput(t, principal, `tasks[${i}]: `));
      const tasks = await engine.enqueueMany(inputs);
      return reply.code(202).send({ tasks: tasks.map(taskJson) });
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
        response: { 200: TaskSchema, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const task = await engine.getTask(request.params.id);
      assertTaskVisible(principalOf(request), task);
      return reply.send(taskJson(task));
    },
  );

  app.get(
    '/tasks/:id/result',
    {
      onRequest: reader,
      config: readConfig,
      schema: {
        summary: "Get a task's result (404 until it has one)",
        tags: ['producer', 'worker'],
        params: TaskIdParams,
        response: { 200: TaskResultResponse, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { task, result } = await engine.getResult(request.params.id);
      assertTaskVisible(principalOf(request), task);
      // codeQ answers 404 while the result does not exist yet.
      if (!result) throw new CodeqError('NOT_FOUND', 'no result yet');
      return reply.send({ task: taskJson(task), result: resultJson(result) });
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
      config: { ...readConfig, optionalBody: true },
      schema: {
        summary: 'Cancel a pending task (codeq addition)',
        tags: ['producer'],
        params: TaskIdParams,
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
      return reply.send(taskJson(task));
    },
  );
};
