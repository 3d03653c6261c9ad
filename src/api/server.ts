/**
 * The HTTP server: Fastify 5 with TypeBox schemas (validation and the OpenAPI document come from the
 * same schemas), the codeQ contract under `/v1/codeq`, operational routes at the root, request ids
 * on every response and log line, and a graceful close that answers waiting long-polls with 204.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import type { CodeqConfig } from '../config.js';
import { assertAuthConfigured } from '../config.js';
import { lenientBody } from '../contract/lenient-body.js';
import type { EngineApi } from '../engine/engine.types.js';
import type { Metrics } from '../metrics/metrics.js';
import { adminRoutes } from './admin.routes.js';
import { artifactsRoutes } from './artifacts.routes.js';
import { batchRoutes } from './batch.routes.js';
import { logRoutes } from './log.routes.js';
import { profileRoutes } from './profile.routes.js';
import { scheduleRoutes } from './schedules.routes.js';
import { queueControlRoutes } from './queue-controls.routes.js';
import { logRequest } from './request-log.js';
import type { Authenticator, AuthenticatorOptions } from './auth/authenticator.js';
import { createAuthenticator } from './auth/authenticator.js';
import { createErrorHandler, frameworkErrorHandler } from './error-mapper.js';
import { healthRoutes, opsRoutes } from './health.routes.js';
import { API_PREFIX, type ClaimLifecycle, type RouteDeps, type SubscriptionApi } from './route-context.js';
import { subscriptionRoutes } from './subscriptions.routes.js';
import { tasksRoutes } from './tasks.routes.js';
import { workerRoutes } from './worker.routes.js';

/** The server instance `buildServer` returns. */
export type CodeqServer = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  RawReplyDefaultExpression<RawServerDefault>,
  Logger,
  TypeBoxTypeProvider
>;

/** Dependencies of {@link buildServer}. */
export interface BuildServerOptions {
  /** The engine the routes call (the caller owns it and closes it after the server). */
  engine: EngineApi;
  /** The configuration (body limit, defaults, auth). */
  config: CodeqConfig;
  /** Root logger; the server logs through it with the request id in every line. */
  logger: Logger;
  /** Metrics; `/metrics` exposes its registry and queue depth is read from `engine`. */
  metrics: Metrics;
  /** Auth overrides (tests pass a local JWKS); default from `config`. */
  auth?: AuthenticatorOptions;
  /** The authenticator, when the caller shares one with the NATS interface; default built from `config` and `auth`. */
  authenticator?: Authenticator;
  /**
   * Worker-availability subscriptions (`startWebhooks(...).subscriptions`); without it the
   * subscription routes answer 503.
   */
  subscriptions?: SubscriptionApi;
}

/**
 * Longest path parameter the router matches (Fastify's default is 100): above any valid task id
 * (64) or command (128), so an over-long one still reaches its route and is answered by the
 * route's own validation (404 for an id, `invalid command`); only longer ones are refused by the
 * router, 414 in the `{error}` shape.
 */
export const MAX_PATH_PARAM_LENGTH = 256;

/** Incoming request ids are echoed when they look like ids; anything else is replaced. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID_RE.test(value) ? value : randomBytes(16).toString('hex');
}

/** Response header naming the body fields a lenient route ignored (comma-separated paths). */
export const UNKNOWN_FIELDS_HEADER = 'x-codeq-unknown-fields';

/**
 * codeQ's reading of a body (Gin: unknown fields ignored, `null` as absent), so its clients' extra
 * fields (`tenantId`, `"webhook": null`) do not fail; the ignored fields are named in
 * {@link UNKNOWN_FIELDS_HEADER} so a typo is still visible. A body that is not an object, or a known
 * field of the wrong type, is still refused by validation.
 */
function readLeniently(request: FastifyRequest, reply: FastifyReply): void {
  const schema = (request.routeOptions.schema as { body?: unknown } | undefined)?.body;
  if (schema === undefined || typeof request.body !== 'object' || request.body === null) return;
  const { value, ignored } = lenientBody(schema, request.body);
  request.body = value;
  if (ignored.length > 0) reply.header(UNKNOWN_FIELDS_HEADER, ignored.join(', '));
}

/**
 * Builds the server (routes registered, not listening). Throws `INVALID_INPUT` when the config
 * accepts no credentials at all (no tokens, no JWKS, no dev mode).
 */
export function buildServer(options: BuildServerOptions): CodeqServer {
  const { engine, config, logger, metrics } = options;
  assertAuthConfigured(config);

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestId,
    requestIdHeader: false,
    return503OnClosing: true,
    // One line per request instead of two, written by `logRequest`.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // Router refusals (over-long parameter, malformed percent-encoding) in the API's shape: Fastify's
    // own bodies echo the path.
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // Response schemas document the API; answers are built by typed code, so plain JSON is enough
  // (and never silently drops a field the schema forgot).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(createErrorHandler());
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `route not found: ${request.method} ${request.url.split('?')[0]}` }),
  );

  // JSON only: Fastify's built-in text/plain parser would hand a string to routes expecting an
  // object, answered 400 instead of 415 Unsupported Media Type.
  app.removeContentTypeParser('text/plain');
  // An empty JSON body is "no body" (codeQ clients post bodiless abandon/heartbeat requests).
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // parseAs 'string' always hands a string.
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    defaultJson(request, text, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preValidation', async (request, reply) => {
    if ((request.body === undefined || request.body === null) && request.routeOptions.config.optionalBody) {
      request.body = {};
    }
    if (!request.routeOptions.config.strictBody) readLeniently(request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.apiRequestDuration.observe(
      {
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('onResponse', logRequest);

  const claims: ClaimLifecycle = { closing: false, waiting: new Set() };
  app.addHook('preClose', async () => {
    claims.closing = true;
    // Waiting claims resolve with nothing and answer 204; in-flight requests then finish normally.
    for (const controller of claims.waiting) controller.abort();
  });
  metrics.setSource(engine);
  app.addHook('onClose', async () => metrics.setSource(undefined));

  const deps: RouteDeps = {
    engine,
    config,
    auth: options.authenticator ?? createAuthenticator(config, options.auth),
    metrics,
    claims,
    subscriptions: options.subscriptions,
  };

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'codeq',
        version: '0.1.0',
        description:
          "Task queue speaking codeQ's HTTP API (event-sourced on NATS JetStream, Redis projections).",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.register(opsRoutes, deps);
  app.register(
    async (api) => {
      await api.register(healthRoutes, deps);
      await api.register(tasksRoutes, deps);
      await api.register(workerRoutes, deps);
      await api.register(batchRoutes, deps);
      await api.register(artifactsRoutes, deps);
      await api.register(subscriptionRoutes, deps);
      await api.register(adminRoutes, deps);
      await api.register(scheduleRoutes, deps);
      await api.register(queueControlRoutes, deps);
      await api.register(logRoutes, deps);
      await api.register(profileRoutes, deps);
    },
    { prefix: API_PREFIX },
  );
  return app;
}

/**
 * Closes the server gracefully: stops accepting, answers waiting long-polls with 204 (their abort
 * signals fire), lets in-flight requests finish. The caller closes the engine afterwards.
 */
export async function closeServer(app: Pick<FastifyInstance, 'close'>): Promise<void> {
  await app.close();
}
