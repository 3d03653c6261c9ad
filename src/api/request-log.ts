/**
 * One log line per request, written when the answer is sent. Fastify's own request logging (an
 * "incoming request" and a "request completed" line) is off: two lines per request buried the
 * start banner and its tokens. The routes producers and workers call once per task or batch, and
 * the probes, log at debug; everything else (admin calls, reads) at info; a server error at error,
 * with its stack, on the same line.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * Route templates logged at debug (`LOG_LEVEL=debug` shows them): enqueue, claim, heartbeat,
 * result, nack, abandon, and the health and metrics probes.
 */
export const HOT_ROUTES: ReadonlySet<string> = new Set([
  '/v1/codeq/tasks',
  '/v1/codeq/tasks/batch',
  '/v1/codeq/tasks/claim',
  '/v1/codeq/tasks/:id/heartbeat',
  '/v1/codeq/tasks/:id/result',
  '/v1/codeq/tasks/results',
  '/v1/codeq/tasks/:id/nack',
  '/v1/codeq/tasks/:id/abandon',
  '/v1/codeq/healthz',
  '/healthz',
  '/readyz',
  '/metrics',
]);

declare module 'fastify' {
  interface FastifyRequest {
    /** The error the error handler answered, for the request's log line (set only then). */
    failure?: Error | undefined;
  }
}

/** Fastify `onResponse` hook: the request's one log line. */
export async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const status = reply.statusCode;
  const route = request.routeOptions.url;
  const level = status >= 500 ? 'error' : route !== undefined && HOT_ROUTES.has(route) ? 'debug' : 'info';
  // buildServer's logger is pino: skip building the line when its level is off.
  const log = request.log as Logger;
  if (!log.isLevelEnabled(level)) return;
  const failure = request.failure;
  log[level](
    {
      method: request.method,
      url: request.url,
      status,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      // A refusal's code and message are enough; a server error keeps its stack.
      ...(failure === undefined
        ? {}
        : {
            err:
              status >= 500
                ? failure
                : { code: (failure as { code?: string }).code, message: failure.message },
          }),
    },
    'request',
  );
}
