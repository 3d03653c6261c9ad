/**
 * Worker routes: claim (long-poll, optionally batched), heartbeat, abandon, nack, result, and batch
 * results. The worker identity is always the token's subject, never a body field; the engine checks
 * ownership (`sub == task.workerId`) and answers `NOT_OWNER`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import Type from 'typebox';
import type { ResultRecord } from '../contract/views.js';
import type { EngineApi } from '../engine/engine.types.js';
import type { Principal } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { ErrorBody, ResultRecordSchema, TaskSchema, TaskViewQuery } from '../contract/common.schema.js';
import {
  ClaimBody,
  EmptyBody,
  HeartbeatBody,
  NackBody,
  NackResponse,
  ProgressBody,
  ProgressResponse,
  ResultBody,
  resultBodyProblem,
} from '../contract/worker.schema.js';
import { AUTH_ERRORS, TaskIdParams } from './common.schema.js';
import { ApiRefusal, LEASE_OP_MESSAGES, RESULT_MESSAGES } from './error-mapper.js';
import { claimTasks } from './claim-handler.js';
import type { RouteDeps } from './route-context.js';
import { iso, resultJson, taskJson, tasksJson, taskWire } from './task-json.js';

const LEASE_ERRORS = { ...AUTH_ERRORS, 404: ErrorBody, 409: ErrorBody };

type ResultInput = Static<typeof ResultBody>;

/** Checks a result body against the contract's conditional rules; `where` prefixes batch messages. */
export function checkResult(body: ResultInput, where = ''): void {
  const problem = resultBodyProblem(body);
  if (problem !== undefined) throw new ApiRefusal(400, `${where}${problem}`);
}

/** Records one result (completed or failed) for the lease holder `worker`. */
export function submitResult(
  engine: EngineApi,
  taskId: string,
  worker: Principal,
  body: ResultInput,
): Promise<ResultRecord> {
  const common = {
    taskId,
    workerId: worker.subject,
    allowedCommands: worker.eventTypes,
    ...(body.artifacts === undefined ? {} : { artifacts: body.artifacts }),
  };
  return body.status === 'COMPLETED'
    ? engine.complete({ ...common, result: body.result })
    : engine.fail({ ...common, error: body.error as string });
}

/** Registers the worker routes. */
export const workerRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config } = deps;
  const worker = (scope: string) => createAuthHook(auth, { kind: 'worker', scope });
  const leaseConfig = {
    notFound: LEASE_OP_MESSAGES.notFound,
    messages: LEASE_OP_MESSAGES,
    optionalBody: true,
  };

  app.post(
    '/tasks/claim',
    {
      onRequest: worker('codeq:claim'),
      config: { optionalBody: true },
      schema: {
        summary: 'Claim a task (long-poll with waitSeconds; batch with count)',
        tags: ['worker'],
        querystring: TaskViewQuery,
        body: ClaimBody,
        response: {
          200: Type.Union([TaskSchema, Type.Object({ tasks: Type.Array(TaskSchema) })]),
          204: Type.Null({ description: 'Nothing came within the wait' }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const tasks = await claimTasks(principalOf(request), body, reply, deps);
      if (tasks.length === 0) return reply.code(204).send(null);
      const wire = taskWire(request, config);
      if (body.count !== undefined) return reply.send({ tasks: tasks.map(tasksJson(wire)) });
      return reply.send(taskJson(tasks[0]!, wire));
    },
  );

  app.post(
    '/tasks/:id/heartbeat',
    {
      onRequest: worker('codeq:heartbeat'),
      config: leaseConfig,
      schema: {
        summary: "Extend the lease (409 with code 'TASK_CANCELLED' once the task was cancelled)",
        tags: ['worker'],
        params: TaskIdParams,
        body: HeartbeatBody,
        response: {
          200: Type.Object({ ok: Type.Literal(true), leaseUntil: Type.String() }),
          ...LEASE_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { leaseUntil } = await engine.heartbeat({
        taskId: request.params.id,
        workerId: principal.subject,
        allowedCommands: principal.eventTypes,
        extendSeconds: request.body.extendSeconds ?? config.defaultLeaseSeconds,
      });
      return reply.send({ ok: true as const, leaseUntil: new Date(leaseUntil).toISOString() });
    },
  );

  app.post(
    '/tasks/:id/progress',
    {
      // The lease holder's report, like a heartbeat: the same scope, so worker tokens need no new one.
      onRequest: worker('codeq:heartbeat'),
      config: { notFound: LEASE_OP_MESSAGES.notFound, messages: LEASE_OP_MESSAGES, strictBody: true },
      schema: {
        summary: 'Report progress (percent and a small JSON); the lease does not move (codeq addition)',
        tags: ['worker'],
        params: TaskIdParams,
        body: ProgressBody,
        response: { 200: ProgressResponse, ...LEASE_ERRORS, 400: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { progress, data } = request.body;
      const out = await engine.progress({
        taskId: request.params.id,
        workerId: principal.subject,
        allowedCommands: principal.eventTypes,
        progress,
        ...(data === undefined ? {} : { data }),
      });
      return reply.send({ ok: true as const, progress: out.progress, progressAt: iso(out.progressAt) });
    },
  );

  app.post(
    '/tasks/:id/abandon',
    {
      onRequest: worker('codeq:abandon'),
      config: leaseConfig,
      schema: {
        summary: 'Give the task back at once, attempts unchanged',
        tags: ['worker'],
        params: TaskIdParams,
        body: EmptyBody,
        response: { 200: Type.Object({ status: Type.Literal('requeued') }), ...LEASE_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await engine.abandon({
        taskId: request.params.id,
        workerId: principal.subject,
        allowedCommands: principal.eventTypes,
      });
      return reply.send({ status: 'requeued' as const });
    },
  );

  app.post(
    '/tasks/:id/nack',
    {
      onRequest: worker('codeq:nack'),
      config: leaseConfig,
      schema: {
        summary: 'Give the task back for a retry with backoff (DLQ at the attempt limit)',
        tags: ['worker'],
        params: TaskIdParams,
        body: NackBody,
        response: { 200: NackResponse, ...LEASE_ERRORS },
      },
    },
    async (request, reply) => {
      const { delaySeconds, reason, deadLetter, rateLimited } = request.body;
      const principal = principalOf(request);
      const out = await engine.nack({
        taskId: request.params.id,
        workerId: principal.subject,
        allowedCommands: principal.eventTypes,
        // The engine caps the delay at backoffMaxSeconds.
        ...(delaySeconds === undefined ? {} : { delaySeconds }),
        ...(reason === undefined ? {} : { reason }),
        ...(deadLetter === undefined ? {} : { deadLetter }),
        ...(rateLimited === undefined ? {} : { rateLimited }),
      });
      return reply.send({ status: out.status, delaySeconds: out.delaySeconds });
    },
  );

  app.post(
    '/tasks/:id/result',
    {
      onRequest: worker('codeq:result'),
      config: { notFound: RESULT_MESSAGES.notFound, messages: RESULT_MESSAGES },
      schema: {
        summary: 'Record the result (terminal)',
        tags: ['worker'],
        params: TaskIdParams,
        body: ResultBody,
        response: { 200: ResultRecordSchema, ...LEASE_ERRORS },
      },
    },
    async (request, reply) => {
      checkResult(request.body);
      const record = await submitResult(engine, request.params.id, principalOf(request), request.body);
      return reply.send(resultJson(record));
    },
  );
};
