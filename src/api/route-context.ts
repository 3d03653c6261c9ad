/** What every route group receives from `buildServer` (dependencies are passed in, never global). */
import type { CodeqConfig } from '../config.js';
import type { EngineApi } from '../engine/engine.types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { SubscriptionService } from '../webhooks/subscription.service.js';
import type { Authenticator } from './auth/authenticator.js';
import type { ErrorMessageOverrides } from './error-mapper.js';

/** Path prefix of the codeQ API. */
export const API_PREFIX = '/v1/codeq';

/** Waiting long-polls and the shutdown flag, shared by the claim route and `closeServer`. */
export interface ClaimLifecycle {
  /** True once the server is closing: new claims do not wait. */
  closing: boolean;
  /** Abort controllers of claims waiting right now (aborted on shutdown: they answer 204). */
  readonly waiting: Set<AbortController>;
}

/** The subscription operations the routes call (the webhook service's `subscriptions`). */
export type SubscriptionApi = Pick<SubscriptionService, 'subscribe' | 'heartbeat' | 'list' | 'unsubscribe'>;

/** Dependencies of the route plugins. */
export interface RouteDeps {
  /** The engine the routes call. */
  engine: EngineApi;
  /** The configuration (defaults, limits). */
  config: CodeqConfig;
  /** Authentication and policies. */
  auth: Authenticator;
  /** Metrics (`/metrics`). */
  metrics: Metrics;
  /** Long-poll bookkeeping. */
  claims: ClaimLifecycle;
  /** Subscription operations; absent when webhooks are not started (the routes answer 503). */
  subscriptions?: SubscriptionApi | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Message of a 404 answered when the `:id` parameter is malformed (as for an unknown id). */
    notFound?: string;
    /** The route's contract strings for engine errors (e.g. `not-found`, `not-in-progress`). */
    messages?: ErrorMessageOverrides;
    /** The body may be absent: it is then treated as `{}`. */
    optionalBody?: boolean;
    /**
     * Refuse unknown fields and `null`s (400 naming the field) instead of reading the body as codeQ
     * does (ignored, named in `X-Codeq-Unknown-Fields`): for codeq's own routes, which no codeQ
     * client calls, so typos fail loudly there. Default false.
     */
    strictBody?: boolean;
  }
}
