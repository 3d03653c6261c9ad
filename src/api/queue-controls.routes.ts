/**
 * Queue control routes: pause, resume, limits and the control history of one queue. Admin only
 * (like every `/admin` route), and an admin limited to some commands controls only those. Each
 * control is an event in the control stream with the admin as its actor (`admin:<sub>`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { QueueIntent } from '../actors/queue.decider.js';
import { CONTROLS_LIMIT_DEFAULT, QueueLimitsPatchSchema } from '../contract/queue-controls.js';
import {
  ControlsPageSchema,
  ControlsQuery,
  PauseBody,
  QueueControlAnswerSchema,
  queueControlAnswer,
  type ControlEventJson,
  type QueueControlAnswer,
} from '../contract/queue-controls.schema.js';
import { ErrorBody } from '../contract/common.schema.js';
import type { StoredControlEvent } from '../events/control-event.schema.js';
import { assertCommandAllowed } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { AUTH_ERRORS, CommandParams } from './common.schema.js';
import type { RouteDeps } from './route-context.js';
import { iso } from './task-json.js';

/** Errors a control may answer besides the auth ones: a concurrent change won every retry, the log is down. */
const CONTROL_ERRORS = { ...AUTH_ERRORS, 409: ErrorBody, 503: ErrorBody } as const;

/** A control event as the HTTP API shows it (`at` as the RFC3339 `time`). */
export function controlEventJson(event: StoredControlEvent): ControlEventJson {
  const { seq, type, command, at, actor, data, settings } = event;
  return { seq, type, command, time: iso(at), actor, data, settings };
}

/** Registers the queue control routes. */
export const queueControlRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth } = deps;
  app.addHook('onRequest', createAuthHook(auth, { kind: 'admin' }));

  /** Checks the caller may control `command`, then runs `intent` as that admin. */
  async function control(
    request: { params: { command: string } },
    principal: ReturnType<typeof principalOf>,
    intent: QueueIntent,
  ): Promise<QueueControlAnswer> {
    const { command } = request.params;
    assertCommandAllowed(principal, command);
    const outcome = await engine.controlQueue(command, intent, `admin:${principal.subject}`);
    return queueControlAnswer(command, outcome.settings, outcome.event !== undefined);
  }

  app.post(
    '/admin/queues/:command/pause',
    {
      config: { optionalBody: true },
      schema: {
        summary: 'Pause a queue: enqueues go on, no claims (waiting claims keep waiting) until resumed',
        tags: ['admin'],
        params: CommandParams,
        body: PauseBody,
        response: { 200: QueueControlAnswerSchema, ...CONTROL_ERRORS },
      },
    },
    async (request, reply) => {
      const { reason } = request.body;
      const intent: QueueIntent = reason === undefined ? { type: 'pause' } : { type: 'pause', reason };
      return reply.send(await control(request, principalOf(request), intent));
    },
  );

  app.post(
    '/admin/queues/:command/resume',
    {
      config: { optionalBody: true },
      schema: {
        summary: 'Resume a paused queue: waiting claims get its tasks at once',
        tags: ['admin'],
        params: CommandParams,
        response: { 200: QueueControlAnswerSchema, ...CONTROL_ERRORS },
      },
    },
    async (request, reply) => reply.send(await control(request, principalOf(request), { type: 'resume' })),
  );

  app.patch(
    '/admin/queues/:command/limits',
    {
      schema: {
        summary:
          "Change a queue's limits (a JSON merge patch: a field sets that limit, null removes it, an absent one stays)",
        tags: ['admin'],
        params: CommandParams,
        body: QueueLimitsPatchSchema,
        response: { 200: QueueControlAnswerSchema, ...CONTROL_ERRORS },
      },
    },
    async (request, reply) =>
      reply.send(await control(request, principalOf(request), { type: 'setLimits', patch: request.body })),
  );

  app.get(
    '/admin/queues/:command/controls',
    {
      schema: {
        summary: "A queue's control events (who paused or limited it, when), oldest first",
        tags: ['admin'],
        params: CommandParams,
        querystring: ControlsQuery,
        response: { 200: ControlsPageSchema, ...CONTROL_ERRORS },
      },
    },
    async (request, reply) => {
      const { command } = request.params;
      assertCommandAllowed(principalOf(request), command);
      const events = await engine.queueControlHistory(command, request.query.limit ?? CONTROLS_LIMIT_DEFAULT);
      return reply.send({ events: events.map(controlEventJson) });
    },
  );
};
