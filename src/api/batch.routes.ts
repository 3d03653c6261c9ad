/**
 * Batch routes. codeQ's (`POST /tasks/batch`, `POST /tasks/claim/batch`, `POST /tasks/batch/results`)
 * answer every item on its own, in input order, with codeQ's shapes; codeq's own batch create
 * (`POST /tasks/batch?allOrNothing=true`, all items valid or none written) and batch results
 * (`POST /tasks/results`, with an HTTP status per item) keep theirs. Every batch takes one engine
 * call, so its cost is a fixed number of round trips however many items (docs/architecture.md §4).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger } from 'fastify';
import type { Static } from 'typebox';
import Type from 'typebox';
import type { EngineApi, ResultInput } from '../engine/engine.types.js';
import type { ResultRecord } from '../contract/views.js';
import type { CodeqError } from '../errors.js';
import { PartialWriteErrorBody, TaskSchema, TaskViewQuery } from '../contract/common.schema.js';
import {
  BatchClaimBody,
  BatchClaimResponse,
  BatchCreateQuery,
  BatchCreateResults,
  BatchResultItemsResponse,
} from '../contract/batch.schema.js';
import { BatchCreateBody } from '../contract/task.schema.js';
import { BatchResultsBody, BatchResultsResponse } from '../contract/worker.schema.js';
import type { Principal } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { claimTasks } from './claim-handler.js';
import { AUTH_ERRORS, CREATE_ERRORS } from './common.schema.js';
import { RESULT_MESSAGES, mapError, type ErrorMessageOverrides } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';
import { resultJson, tasksJson, taskWire, type TaskJson, type TaskWire } from './task-json.js';
import { toEnqueueInput, traceOfHeaders } from './tasks.routes.js';
import { checkResult } from './worker.routes.js';

/** The message of an item's error, logged when it is the server's fault. */
export function itemError(
  err: unknown,
  log: Pick<FastifyBaseLogger, 'error'>,
  where: Record<string, unknown>,
  messages: ErrorMessageOverrides = {},
): string {
  const mapped = mapError(err, messages);
  if (mapped.status >= 500) log.error({ err, ...where }, 'batch item failed');
  return mapped.body.error;
}

/** Records a batch of results for `principal` in one engine call; each answers on its own. */
export function submitAll(
  engine: EngineApi,
  results: Static<typeof BatchResultsBody>['results'],
  principal: Principal,
): Promise<(ResultRecord | CodeqError)[]> {
  const { subject: workerId, eventTypes: allowedCommands } = principal;
  results.forEach((r, i) => checkResult(r, `results[${i}]: `));
  return engine.submitResults(
    results.map((r) => {
      // Field by field: conditional spreads would cost extra objects and copies per result.
      const input: ResultInput = {
        taskId: r.taskId,
        workerId,
        status: r.status,
        result: r.result,
        allowedCommands,
      };
      if (r.error !== undefined) input.error = r.error;
      if (r.artifacts !== undefined) input.artifacts = r.artifacts;
      return input;
    }),
  );
}

/** codeq's batch results answer (`POST /tasks/results`): per item its record, or its status and error. */
export function resultItems(
  answers: readonly (ResultRecord | CodeqError)[],
  results: readonly { taskId: string }[],
  log: Pick<FastifyBaseLogger, 'error'>,
): Static<typeof BatchResultsResponse>['results'] {
  return answers.map((answer, i) => {
    const taskId = results[i]!.taskId;
    if (!(answer instanceof Error)) return { taskId, ok: true, result: resultJson(answer) };
    const mapped = mapError(answer, RESULT_MESSAGES);
    if (mapped.status >= 500) log.error({ err: answer, taskId }, 'batch result failed');
    const item = { taskId, ok: false, status: mapped.status, error: mapped.body.error };
    return mapped.body.code === undefined ? item : { ...item, code: mapped.body.code };
  });
}

/** How {@link enqueueBatch} writes a batch. */
export interface EnqueueBatchOptions {
  /** The producer. */
  principal: Principal;
  /** The request's trace context (items without their own take it). */
  trace: Parameters<typeof toEnqueueInput>[3];
  /** codeq's batch: every item valid or none written, answered `{tasks}`; else codeQ's `{results}`. */
  allOrNothing: boolean;
  /** How tasks are written. */
  wire: TaskWire;
  /** Where server-side item failures are logged. */
  log: Pick<FastifyBaseLogger, 'error'>;
}

/** Creates a batch of tasks (HTTP `POST /tasks/batch`, NATS `tasks.enqueue` with `tasks`). */
export async function enqueueBatch(
  engine: EngineApi,
  tasks: Static<typeof BatchCreateBody>['tasks'],
  options: EnqueueBatchOptions,
): Promise<{ tasks: TaskJson[] } | { results: { task?: TaskJson; error?: string }[] }> {
  const { principal, trace, log } = options;
  const write = tasksJson(options.wire);
  if (options.allOrNothing) {
    const inputs = tasks.map((t, i) => toEnqueueInput(t, principal, `tasks[${i}]: `, trace));
    return { tasks: (await engine.enqueueMany(inputs)).map(write) };
  }
  // codeQ's: each item is created (or refused) alone; single enqueues of one turn share one
  // append batch in the engine, so this costs what one batch does.
  const results = await Promise.all(
    tasks.map(async (t, i) => {
      try {
        return { task: write(await engine.enqueue(toEnqueueInput(t, principal, '', trace))) };
      } catch (err) {
        return { error: itemError(err, log, { index: i }) };
      }
    }),
  );
  return { results };
}

/** Registers the batch routes. */
export const batchRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config } = deps;
  const producer = createAuthHook(auth, { kind: 'producer' });
  const worker = (scope: string) => createAuthHook(auth, { kind: 'worker', scope });

  app.post(
    '/tasks/batch',
    {
      onRequest: producer,
      schema: {
        summary: 'Create many tasks; each item answers on its own (allOrNothing=true: codeq batch)',
        tags: ['producer'],
        querystring: BatchCreateQuery,
        body: BatchCreateBody,
        response: {
          200: BatchCreateResults,
          202: Type.Object({ tasks: Type.Array(TaskSchema) }),
          ...CREATE_ERRORS,
          503: PartialWriteErrorBody,
        },
      },
    },
    async (request, reply) => {
      const answer = await enqueueBatch(engine, request.body.tasks, {
        principal: principalOf(request),
        trace: traceOfHeaders(request.headers),
        allOrNothing: request.query.allOrNothing === true,
        wire: taskWire(request, config),
        log: request.log,
      });
      return reply.code('tasks' in answer ? 202 : 200).send(answer);
    },
  );

  app.post(
    '/tasks/claim/batch',
    {
      onRequest: worker('codeq:claim'),
      schema: {
        summary: 'Claim up to count tasks (codeQ)',
        tags: ['worker'],
        querystring: TaskViewQuery,
        body: BatchClaimBody,
        response: {
          200: BatchClaimResponse,
          204: Type.Null({ description: 'Nothing to claim' }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const tasks = await claimTasks(principalOf(request), request.body, reply, deps);
      if (tasks.length === 0) return reply.code(204).send(null);
      return reply.send({ tasks: tasks.map(tasksJson(taskWire(request, config))) });
    },
  );

  app.post(
    '/tasks/batch/results',
    {
      onRequest: worker('codeq:result'),
      schema: {
        summary: 'Record many results; each item answers with its record or its error (codeQ)',
        tags: ['worker'],
        body: BatchResultsBody,
        response: { 200: BatchResultItemsResponse, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const answers = await submitAll(engine, request.body.results, principalOf(request));
      const results = answers.map((answer, i) => {
        const taskId = request.body.results[i]!.taskId;
        if (!(answer instanceof Error)) return { taskId, result: resultJson(answer) };
        return { taskId, error: itemError(answer, request.log, { taskId }, RESULT_MESSAGES) };
      });
      return reply.send({ results });
    },
  );

  app.post(
    '/tasks/results',
    {
      onRequest: worker('codeq:result'),
      config: { strictBody: true },
      schema: {
        summary: 'Record many results; each item answers on its own (codeq addition)',
        tags: ['worker'],
        body: BatchResultsBody,
        response: { 200: BatchResultsResponse, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const answers = await submitAll(engine, request.body.results, principalOf(request));
      const results = resultItems(answers, request.body.results, request.log);
      return reply.send({ results });
    },
  );
};
