/**
 * `GET /admin/stream`: the dashboard's live view as server-sent events. Each event appended to the
 * log from the moment of the request (read from JetStream by an ordered consumer, not from the
 * caller) is sent as `event: task`; the overview as `event: overview` at once and every 5 s; a
 * `: ping` comment every 15 s keeps proxies from closing an idle stream. The stream ends, and the
 * log's consumer is deleted, when the client goes away or the server closes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { StoredTaskEvent } from '../events/task-event.schema.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { AUTH_ERRORS } from './common.schema.js';
import { visibleTo } from './dashboard.routes.js';
import type { RouteDeps } from './route-context.js';

/** Interval of the `overview` events, ms. */
export const STREAM_OVERVIEW_MS = 5_000;
/** Interval of the `: ping` comments, ms. */
export const STREAM_PING_MS = 15_000;
/**
 * Most bytes a stream may have waiting to be sent, bytes: a client that stops reading has its stream
 * ended (the dashboard reopens it) instead of the server buffering the log for it without bound.
 */
export const STREAM_BACKLOG_MAX = 256 * 1024;

/** The `task` event's data: what happened, to which task, when, by which worker. */
function taskEventData(e: StoredTaskEvent): string {
  const data = e.data as { workerId?: unknown };
  return JSON.stringify({
    seq: e.seq,
    type: e.type,
    taskId: e.taskId,
    command: e.command,
    at: e.at,
    ...(typeof data.workerId === 'string' ? { workerId: data.workerId } : {}),
  });
}

/** Registers `GET /admin/stream` (admin or viewer). */
export const dashboardStreamRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, claims } = deps;

  app.get(
    '/admin/stream',
    {
      onRequest: createAuthHook(auth, { kind: 'admin' }),
      schema: {
        summary: 'Live events of the log and the overview every 5 s, as server-sent events (dashboard)',
        tags: ['dashboard'],
        response: {
          200: Type.String({ description: 'text/event-stream: `event: task`, `event: overview`, `: ping`' }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const visible = visibleTo(principalOf(request));
      const done = new AbortController();
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        // The connection ends with the stream: a hijacked response left in keep-alive would hold
        // the server's close.
        connection: 'close',
        'x-request-id': request.id,
      });
      const write = (text: string) => {
        if (done.signal.aborted || raw.writableEnded) return;
        if (raw.writableLength > STREAM_BACKLOG_MAX) {
          request.log.warn({ backlog: raw.writableLength }, 'stream ended: the client does not read');
          done.abort();
          // Its socket too: ending it politely would wait, buffers held, for a reader that never comes.
          raw.destroy();
        } else raw.write(text);
      };
      const overview = () =>
        engine.overview(visible).then(
          (o) => write(`event: overview\ndata: ${JSON.stringify(o)}\n\n`),
          (err: unknown) => request.log.warn({ err }, 'stream overview failed'),
        );
      const timers = [
        setInterval(overview, STREAM_OVERVIEW_MS),
        setInterval(() => write(': ping\n\n'), STREAM_PING_MS),
      ];
      // The client going away (the response's socket closes), or the server closing (it aborts every
      // waiting request), ends it all.
      claims.waiting.add(done);
      raw.once('close', () => done.abort());
      // Gone before the listener above (during authentication): its 'close' has already fired.
      if (raw.socket === null || raw.socket.destroyed) done.abort();
      try {
        const following = engine.followEvents((e) => {
          if (visible(e.command)) write(`event: task\ndata: ${taskEventData(e)}\n\n`);
        }, done.signal);
        await overview();
        await following;
      } catch (err) {
        request.log.warn({ err }, 'stream ended by an error');
      } finally {
        done.abort();
        for (const t of timers) clearInterval(t);
        claims.waiting.delete(done);
        if (!raw.destroyed) raw.end();
      }
    },
  );
};
