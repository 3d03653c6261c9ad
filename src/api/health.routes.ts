/**
 * Operational routes: liveness (`/healthz`, codeQ's), readiness (`/readyz`), Prometheus metrics
 * (`/metrics`, behind `metricsToken` when one is configured) and the OpenAPI document
 * (`/openapi.json`). All but a token-guarded `/metrics` are open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { RouteDeps } from './route-context.js';

/** Largest projection lag (events) still reported as ready. */
const MAX_READY_PROJECTION_LAG = 1000;

/**
 * Whether an `authorization` header may read `/metrics`: any when no token is configured, else
 * `Bearer <metricsToken>`, compared in constant time (digests of equal length).
 */
export function metricsAccess(token: string | undefined): (header: string | undefined) => boolean {
  if (!token) return () => true;
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    return !!m && timingSafeEqual(createHash('sha256').update(m[1]!).digest(), expected);
  };
}

/** Registers `/healthz` under the API prefix (the contract's place). */
export const healthRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        tags: ['ops'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async (_request, reply) => reply.send({ status: 'ok' as const }),
  );
};

/** Registers the root-level operational routes (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`). */
export const opsRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, metrics } = deps;
  await app.register(healthRoutes, deps);

  const Readiness = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    nats: Type.Boolean(),
    redis: Type.Boolean(),
    projectionLag: Type.Integer(),
    error: Type.Optional(Type.String()),
  });
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: NATS and Redis answer and the projection has caught up',
        tags: ['ops'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      try {
        const r = await engine.readiness();
        const ready =
          r.nats && r.redis && r.projectionLag >= 0 && r.projectionLag <= MAX_READY_PROJECTION_LAG;
        return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', ...r });
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        return reply.code(503).send({
          status: 'unavailable',
          nats: false,
          redis: false,
          projectionLag: -1,
          error: 'readiness check failed',
        });
      }
    },
  );

  const allowed = metricsAccess(deps.config.metricsToken);
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (a bearer token when `metricsToken` is configured)',
        tags: ['ops'],
        ...(deps.config.metricsToken ? {} : { security: [] }),
      },
    },
    async (request, reply) => {
      if (!allowed(request.headers.authorization)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ error: 'unauthorized' });
      }
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );

  app.get(
    '/openapi.json',
    { schema: { summary: 'This OpenAPI document', tags: ['ops'] } },
    async (_r, reply) => reply.send(app.swagger()),
  );
};
