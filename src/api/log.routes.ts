/**
 * Admin routes over the event log itself: reading it (CLI `events replay|tail`) and rebuilding the
 * projection from it (CLI `projections rebuild`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { assertAllCommands } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { EventJson, EventsQuery, FROM_TIME_MESSAGE } from '../contract/admin.schema.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import { AUTH_ERRORS } from './common.schema.js';
import { ApiRefusal } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';
import { eventJson } from './task-json.js';

/** Registers `GET /admin/events` and `POST /admin/projections/rebuild`. */
export const logRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, claims } = deps;
  app.addHook('onRequest', createAuthHook(auth, { kind: 'admin' }));

  app.get(
    '/admin/events',
    {
      schema: {
        summary: 'A page of the event log, oldest first (from a sequence or a time)',
        tags: ['admin'],
        querystring: EventsQuery,
        response: {
          200: Type.Object({ events: Type.Array(EventJson), nextSeq: Type.Integer() }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      // The log holds every command's events (payloads, results).
      assertAllCommands(principalOf(request));
      const q = request.query;
      const controller = new AbortController();
      const onClose = () => controller.abort();
      request.raw.on('close', onClose);
      claims.waiting.add(controller);
      try {
        const input: Parameters<typeof engine.readEvents>[0] = { signal: controller.signal };
        if (q.fromSeq !== undefined) input.fromSeq = q.fromSeq;
        if (q.fromTime !== undefined) {
          const fromTime = parseRfc3339(q.fromTime);
          if (fromTime === undefined) throw new ApiRefusal(400, FROM_TIME_MESSAGE);
          input.fromTime = fromTime;
        }
        if (q.limit !== undefined) input.limit = q.limit;
        if (q.waitSeconds !== undefined && !claims.closing) input.waitSeconds = q.waitSeconds;
        const page = await engine.readEvents(input);
        return reply.send({
          events: page.events.map(eventJson),
          nextSeq: page.nextSeq,
        });
      } finally {
        claims.waiting.delete(controller);
        request.raw.off('close', onClose);
      }
    },
  );

  app.post(
    '/admin/projections/rebuild',
    {
      config: { optionalBody: true },
      schema: {
        summary: 'Flush the Redis projection and replay the whole log into it',
        tags: ['admin'],
        response: {
          200: Type.Object({
            events: Type.Integer(),
            durationMs: Type.Integer(),
            eventsPerSecond: Type.Integer(),
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      assertAllCommands(principalOf(request));
      const started = Date.now();
      const events = await engine.rebuildProjection();
      const durationMs = Date.now() - started;
      return reply.send({
        events,
        durationMs,
        eventsPerSecond: Math.round((events * 1000) / Math.max(1, durationMs)),
      });
    },
  );
};
