/**
 * Worker routes: claim (long-poll, optionally batched), heartbeat, abandon, nack, result, and batch
 * results. The worker identity is always the token's subject, never a body field; the engine checks
 * ownership (`sub == task.workerId`) and answers `NOT_OWNER`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Static } from 'typebox';
import Type from 'typebox';
import type { ResultInput as EngineResultInput } from '../engine/engine.types.js';
import type { ResultRecord } from '../contract/views.js';
import { allowsCommand } from './auth/auth.types.js';
import type { Principal } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { ErrorBody, ResultRecordSchema, TaskSchema, TaskViewQuery } from '../contract/common.schema.js';
import { WAIT_SECONDS_MAX } from '../contract/limits.js';
import {
  BatchResultsBody,
  BatchResultsResponse,
  ClaimBody,
  EmptyBody,
  HeartbeatBody,
  NackBody,
  NackResponse,
  ResultBody,
  resultBodyProblem,
} from '../contract/worker.schema.js';
import { AUTH_ERRORS, TaskIdParams } from './common.schema.js';
import { ApiRefusal, LEASE_OP_MESSAGES, RESULT_MESSAGES, mapError } from './error-mapper.js';
import type { ClaimLifecycle, RouteDeps } from './route-context.js';
import { resultJson, taskJson, tasksJson, taskWire } from './task-json.js';

const LEASE_ERRORS = { ...AUTH_ERRORS, 404: ErrorBody, 409: ErrorBody };

/**
 * An abort signal for one claim: fires when the client goes away before the answer, or when the
 * server shuts down. `release` must be called once the claim returns.
 */
function claimSignal(
  reply: FastifyReply,
  claims: ClaimLifecycle,
): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  // The response's 'close' fires on a dropped connection too; unfinished means the client left.
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  reply.raw.on('close', onClose);
  claims.waiting.add(controller);
  return {
    signal: controller.signal,
    release: () => {
      claims.waiting.delete(controller);
      reply.raw.off('close', onClose);
    },
  };
}

type ResultInput = Static<typeof ResultBody>;

/** Checks a result body against the contract's conditional rules; `where` prefixes batch messages. */
function checkResult(body: ResultInput, where = ''): void {
  const problem = resultBodyProblem(body);
  if (problem !== undefined) throw new ApiRefusal(400, `${where}${problem}`);
}

/** Registers the worker routes. */
export const workerRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config, claims } = deps;
  const worker = (scope: string) => createAuthHook(auth, { kind: 'worker', scope });
  const leaseConfig = {
    notFound: LEASE_OP_MESSAGES.notFound,
    messages: LEASE_OP_MESSAGES,
    optionalBody: true,
  };

  const submit = (taskId: string, worker: Principal, body: ResultInput): Promise<ResultRecord> => {
    const common = {
      taskId,
      workerId: worker.subject,
      allowedCommands: worker.eventTypes,
      ...(body.artifacts === undefined ? {} : { artifacts: body.artifacts }),
    };
    return body.status === 'COMPLETED'
      ? engine.complete({ ...common, result: body.result })
      : engine.fail({ ...common, error: body.error as string });
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
      const principal = principalOf(request);
      const body = request.body;
      let commands = body.commands;
      if (commands === undefined || commands.length === 0) {
        if (principal.eventTypes.includes('*')) {
          throw new ApiRefusal(
            400,
            "invalid body: 'commands' is required when the token allows every event type",
          );
        }
        commands = [...principal.eventTypes];
      }
      if (!commands.every((c) => allowsCommand(principal, c)))
        throw new ApiRefusal(403, 'event type not allowed');
      const waitSeconds = claims.closing ? 0 : Math.min(WAIT_SECONDS_MAX, body.waitSeconds ?? 0);
      const { signal, release } = claimSignal(reply, claims);
      let tasks;
      try {
        tasks = await engine.claim({
          workerId: principal.subject,
          commands: [...new Set(commands)],
          leaseSeconds: body.leaseSeconds ?? config.defaultLeaseSeconds,
          waitSeconds,
          count: body.count ?? 1,
          signal,
        });
      } finally {
        release();
      }
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
        summary: 'Extend the lease',
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
      const { delaySeconds, reason, deadLetter } = request.body;
      const principal = principalOf(request);
      const out = await engine.nack({
        taskId: request.params.id,
        workerId: principal.subject,
        allowedCommands: principal.eventTypes,
        // The engine caps the delay at backoffMaxSeconds.
        ...(delaySeconds === undefined ? {} : { delaySeconds }),
        ...(reason === undefined ? {} : { reason }),
        ...(deadLetter === undefined ? {} : { deadLetter }),
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
      const record = await submit(request.params.id, principalOf(request), request.body);
      return reply.send(resultJson(record));
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
      const { subject: workerId, eventTypes: allowedCommands } = principalOf(request);
      request.body.results.forEach((r, i) => checkResult(r, `results[${i}]: `));
      // One engine call: a fixed number of round trips however many results (docs/architecture.md §4).
      const answers = await engine.submitResults(
        request.body.results.map((r) => {
          // Field by field: conditional spreads would cost extra objects and copies per result.
          const input: EngineResultInput = {
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
      const results = answers.map((answer, i) => {
        const taskId = request.body.results[i]!.taskId;
        if (!(answer instanceof Error)) return { taskId, ok: true, result: resultJson(answer) };
        const mapped = mapError(answer, RESULT_MESSAGES);
        if (mapped.status >= 500) request.log.error({ err: answer, taskId }, 'batch result failed');
        return { taskId, ok: false, status: mapped.status, error: mapped.body.error };
      });
      return reply.send({ results });
    },
  );
};
