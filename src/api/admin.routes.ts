/**
 * Admin routes: queue stats (codeQ's), cleanup (codeQ's), and codeq's DLQ listing/requeue and task
 * listing. All require an admin: static role admin, scope `codeq:admin`, or JWT claim `role: ADMIN`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { allowsCommand, assertAllCommands, assertCommandAllowed } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import {
  BulkCancelBody,
  BulkCancelResponse,
  CleanupBody,
  CleanupResponse,
  ListTasksQuery,
  PageQuery,
  QueueStatsSchema,
  RequeueBody,
} from '../contract/admin.schema.js';
import { TaskPageSchema } from '../contract/common.schema.js';
import { QueueDetailSchema } from '../contract/queue-controls.schema.js';
import { CLEANUP_LIMIT_DEFAULT, PAGE_LIMIT_DEFAULT, zeroAsDefault } from '../contract/limits.js';
import { MESSAGES } from '../contract/messages.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import { AUTH_ERRORS, CommandParams } from './common.schema.js';
import { ApiRefusal } from './error-mapper.js';
import type { CancelFilter } from '../engine/bulk-cancel.js';
import type { RouteDeps } from './route-context.js';
import { iso, tasksJson, taskWire } from './task-json.js';

/** Registers the admin routes. */
export const adminRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config } = deps;
  app.addHook('onRequest', createAuthHook(auth, { kind: 'admin' }));

  app.get(
    '/admin/queues',
    {
      schema: {
        summary: 'Counts for every command that has ever had a task (the caller may see)',
        tags: ['admin'],
        response: { 200: Type.Array(QueueStatsSchema), ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      // An admin limited to some commands sees only those.
      const stats = (await engine.allQueueStats()).filter((s) => allowsCommand(principal, s.command));
      return reply.send(stats);
    },
  );

  app.get(
    '/admin/queues/:command',
    {
      schema: {
        summary: "One command's counts, controls and health figures (zeros when unknown)",
        tags: ['admin'],
        params: CommandParams,
        response: { 200: QueueDetailSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      assertCommandAllowed(principalOf(request), request.params.command);
      return reply.send(await engine.queueDetail(request.params.command));
    },
  );

  app.post(
    '/admin/tasks/cleanup',
    {
      config: { optionalBody: true },
      schema: {
        summary: 'Delete terminal tasks (and their results, idempotency keys) older than `before`',
        tags: ['admin'],
        body: CleanupBody,
        response: { 200: CleanupResponse, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      assertAllCommands(principalOf(request));
      const limit = zeroAsDefault(request.body.limit, CLEANUP_LIMIT_DEFAULT);
      let before = Date.now();
      if (request.body.before !== undefined) {
        const parsed = parseRfc3339(request.body.before);
        if (parsed === undefined) throw new ApiRefusal(400, MESSAGES.before);
        before = parsed;
      }
      const { deleted } = await engine.cleanup({ before, limit });
      return reply.send({ deleted, before: iso(before), limit });
    },
  );

  app.post(
    '/admin/tasks/cancel',
    {
      // codeq's own route: unknown fields are refused, not ignored.
      config: { strictBody: true },
      schema: {
        summary: "Cancel a command's live tasks matching a filter, as one audited operation (codeq addition)",
        tags: ['admin'],
        body: BulkCancelBody,
        response: { 200: BulkCancelResponse, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { filter: body, reason, dryRun } = request.body;
      assertCommandAllowed(principal, body.command);
      const filter: CancelFilter = { command: body.command };
      if (body.state !== undefined) filter.state = body.state;
      if (body.groupKey !== undefined) filter.groupKey = body.groupKey;
      for (const name of ['createdBefore', 'createdAfter'] as const) {
        const text = body[name];
        if (text === undefined) continue;
        const parsed = parseRfc3339(text);
        if (parsed === undefined) throw new ApiRefusal(400, `invalid '${name}' (use RFC3339)`);
        filter[name] = parsed;
      }
      const out = await engine.cancelTasks({
        filter,
        actor: `admin:${principal.subject}`,
        ...(reason === undefined ? {} : { reason }),
        ...(dryRun === undefined ? {} : { dryRun }),
      });
      // The audit trail is the log (each event names the operation); this line ties it to the request.
      request.log.info({ ...out, filter: body }, 'bulk cancel');
      return reply.send(out);
    },
  );

  app.get(
    '/admin/dlq/:command',
    {
      schema: {
        summary: "A command's dead-lettered tasks, oldest first (codeq addition)",
        tags: ['admin'],
        params: CommandParams,
        querystring: PageQuery,
        response: { 200: TaskPageSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      assertCommandAllowed(principalOf(request), request.params.command);
      const { cursor, limit } = request.query;
      const page = await engine.listDlq(request.params.command, {
        limit: limit ?? PAGE_LIMIT_DEFAULT,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return reply.send({
        tasks: page.items.map(tasksJson(taskWire(request, config))),
        total: page.total,
        ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
      });
    },
  );

  for (const action of ['requeue', 'delete'] as const) {
    const done = action === 'requeue' ? 'requeued' : 'deleted';
    app.post(
      `/admin/dlq/:command/${action}`,
      {
        config: { optionalBody: true, strictBody: true },
        schema: {
          summary:
            action === 'requeue'
              ? 'Send dead-lettered tasks back to the queue, attempts reset (ids, filter, or all)'
              : "Delete dead-lettered tasks (ids, filter, or all); each a 'deleted' event naming the operator",
          tags: ['admin'],
          params: CommandParams,
          body: RequeueBody,
          response: {
            200: Type.Union([
              Type.Object({ [done]: Type.Integer() }),
              Type.Object({ matched: Type.Integer({ description: 'dry run: how many would be' }) }),
            ]),
            ...AUTH_ERRORS,
          },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        assertCommandAllowed(principal, request.params.command);
        const { taskIds, filter, dryRun, all } = request.body;
        // A body-less delete must not empty a DLQ by accident: wiping it all is said explicitly.
        if (action === 'delete' && taskIds === undefined && filter === undefined && all !== true)
          throw new ApiRefusal(400, MESSAGES.dlqDeleteAll);
        if (all === true && (taskIds !== undefined || filter !== undefined))
          throw new ApiRefusal(400, MESSAGES.dlqAllWithSelection);
        const selection = {
          command: request.params.command,
          actor: `admin:${principal.subject}`,
          taskIds,
          filter,
          dryRun,
        };
        const out =
          action === 'requeue' ? await engine.requeueDlqWhere(selection) : await engine.deleteDlq(selection);
        if (!dryRun)
          request.log.info(
            { ...out, command: selection.command, filter, ids: taskIds?.length },
            `dlq ${action}`,
          );
        return reply.send(out);
      },
    );
  }

  app.get(
    '/admin/tasks',
    {
      schema: {
        summary: "A command's tasks in one state, paginated (codeq addition)",
        tags: ['admin'],
        querystring: ListTasksQuery,
        response: { 200: TaskPageSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const { command, status, cursor, limit } = request.query;
      assertCommandAllowed(principalOf(request), command);
      const page = await engine.listTasks(command, status, {
        limit: limit ?? PAGE_LIMIT_DEFAULT,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return reply.send({
        tasks: page.items.map(tasksJson(taskWire(request, config))),
        total: page.total,
        ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
      });
    },
  );
};
