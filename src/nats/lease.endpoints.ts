/**
 * The worker's operations over NATS: `tasks.claim` (long-poll), `tasks.heartbeat`,
 * `tasks.progress`, `tasks.nack`, `tasks.abandon` and `tasks.result` (one, or `{"results":[…]}`),
 * with the HTTP routes' scopes, strings and answers. The lease holder is the token's subject.
 */
import Type from 'typebox';
import { resultItems, submitAll } from '../api/batch.routes.js';
import { claimInput } from '../api/claim-handler.js';
import { ApiRefusal, LEASE_OP_MESSAGES, RESULT_MESSAGES } from '../api/error-mapper.js';
import { iso, resultJson, taskJson, tasksJson } from '../api/task-json.js';
import { checkResult, submitResult } from '../api/worker.routes.js';
import { TaskViewQueryFields } from '../contract/common.schema.js';
import {
  BatchResultsBody,
  ClaimBody,
  HeartbeatBody,
  NackBody,
  ProgressBody,
  ResultBody,
} from '../contract/worker.schema.js';
import type { NatsEndpointContext } from './nats-context.js';
import { addNatsEndpoint, bodyChecker, REPLIED } from './nats-endpoint.js';
import { TaskIdField, taskIdOf } from './task-reads.endpoints.js';

/** A lease operation's body: the HTTP body plus the task id. */
const leaseBody = <P extends object>(properties: P) =>
  Type.Object({ taskId: TaskIdField, ...properties }, { additionalProperties: false });

/** Adds the worker's endpoints. */
export function addLeaseEndpoints(ctx: NatsEndpointContext): void {
  const { engine, config, group, deps } = ctx;
  const worker = (scope: string) => ({ kind: 'worker' as const, scope });
  const lease = (
    principal: { subject: string; eventTypes: readonly string[] },
    body: { taskId: string },
  ) => ({
    taskId: taskIdOf(body),
    workerId: principal.subject,
    allowedCommands: principal.eventTypes,
  });

  addNatsEndpoint(
    group,
    {
      subject: 'tasks.claim',
      policy: worker('codeq:claim'),
      body: Type.Object({ ...ClaimBody.properties, ...TaskViewQueryFields }, { additionalProperties: false }),
      async handle({ body, principal, msg, signal }) {
        // A publish has nowhere to send what it claims: the tasks would wait out their lease.
        if (msg.reply === '')
          throw new ApiRefusal(400, 'a claim needs a reply subject (send it as a request)');
        const tasks = await engine.claim({
          ...claimInput(principal, body, config, signal.aborted),
          signal,
        });
        const wire = ctx.wire(body);
        if (body.count !== undefined) return { tasks: tasks.map(tasksJson(wire)) };
        // Nothing within the wait: an empty reply, as HTTP's 204 has no body.
        if (tasks.length === 0) {
          msg.respond();
          return REPLIED;
        }
        return taskJson(tasks[0]!, wire);
      },
    },
    deps,
  );

  addNatsEndpoint(
    group,
    {
      subject: 'tasks.heartbeat',
      policy: worker('codeq:heartbeat'),
      body: leaseBody(HeartbeatBody.properties),
      messages: LEASE_OP_MESSAGES,
      async handle({ body, principal }) {
        const { leaseUntil } = await engine.heartbeat({
          ...lease(principal, body),
          extendSeconds: body.extendSeconds ?? config.defaultLeaseSeconds,
        });
        return { ok: true, leaseUntil: iso(leaseUntil) };
      },
    },
    deps,
  );

  addNatsEndpoint(
    group,
    {
      subject: 'tasks.progress',
      policy: worker('codeq:heartbeat'),
      body: leaseBody(ProgressBody.properties),
      messages: LEASE_OP_MESSAGES,
      async handle({ body, principal }) {
        const out = await engine.progress({
          ...lease(principal, body),
          progress: body.progress,
          ...(body.data === undefined ? {} : { data: body.data }),
        });
        return { ok: true, progress: out.progress, progressAt: iso(out.progressAt) };
      },
    },
    deps,
  );

  addNatsEndpoint(
    group,
    {
      subject: 'tasks.abandon',
      policy: worker('codeq:abandon'),
      body: leaseBody({}),
      messages: LEASE_OP_MESSAGES,
      async handle({ body, principal }) {
        await engine.abandon(lease(principal, body));
        return { status: 'requeued' };
      },
    },
    deps,
  );

  addNatsEndpoint(
    group,
    {
      subject: 'tasks.nack',
      policy: worker('codeq:nack'),
      body: leaseBody(NackBody.properties),
      messages: LEASE_OP_MESSAGES,
      async handle({ body, principal }) {
        const { delaySeconds, reason, deadLetter, rateLimited } = body;
        const out = await engine.nack({
          ...lease(principal, body),
          ...(delaySeconds === undefined ? {} : { delaySeconds }),
          ...(reason === undefined ? {} : { reason }),
          ...(deadLetter === undefined ? {} : { deadLetter }),
          ...(rateLimited === undefined ? {} : { rateLimited }),
        });
        return { status: out.status, delaySeconds: out.delaySeconds };
      },
    },
    deps,
  );

  const one = bodyChecker(leaseBody(ResultBody.properties));
  const many = bodyChecker(BatchResultsBody);
  addNatsEndpoint(
    group,
    {
      subject: 'tasks.result',
      policy: worker('codeq:result'),
      // Either shape: told apart by `results`, then checked against its own schema.
      body: Type.Object({}, { additionalProperties: true }),
      messages: RESULT_MESSAGES,
      async handle({ body, principal }) {
        if ('results' in body) {
          const { results } = many(body);
          // codeq's batch answer (`POST /tasks/results`): per item its record, or status and error.
          return { results: resultItems(await submitAll(engine, results, principal), results, ctx.logger) };
        }
        const result = one(body);
        checkResult(result);
        return resultJson(await submitResult(engine, taskIdOf(result), principal, result));
      },
    },
    deps,
  );
}
