/**
 * Worker-availability subscriptions: subscribe and renew (codeQ's contract), list one's own and
 * unsubscribe (codeq's additions). A subscription may only follow commands the token may claim.
 * The work is done by the webhook service (`src/webhooks`); a server built without one answers 503.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { CodeqError } from '../errors.js';
import type { Subscription } from '../webhooks/subscription.store.js';
import { allowsCommand } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { ErrorBody } from '../contract/common.schema.js';
import {
  SubscribeBody,
  SubscriptionHeartbeatBody,
  SubscriptionLeaseSchema,
  SubscriptionSchema,
} from '../contract/subscription.schema.js';
import { AUTH_ERRORS, SubscriptionIdParams } from './common.schema.js';
import { ApiRefusal } from './error-mapper.js';
import type { RouteDeps, SubscriptionApi } from './route-context.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function listed(sub: Subscription) {
  return {
    subscriptionId: sub.id,
    callbackUrl: sub.callbackUrl,
    eventTypes: sub.commands,
    deliveryMode: sub.deliveryMode,
    ...(sub.groupId === undefined ? {} : { groupId: sub.groupId }),
    minIntervalSeconds: sub.minIntervalSeconds,
    ttlSeconds: sub.ttlSeconds,
    createdAt: iso(sub.createdAt),
    expiresAt: iso(sub.expiresAt),
  };
}

/** Registers the subscription routes. */
export const subscriptionRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const guard = createAuthHook(deps.auth, { kind: 'worker', scope: 'codeq:subscribe' });
  const service = (): SubscriptionApi => {
    if (!deps.subscriptions) {
      throw new CodeqError('UNAVAILABLE', 'webhooks are not enabled on this server', {
        details: { dependency: 'webhooks' },
      });
    }
    return deps.subscriptions;
  };
  const NOT_FOUND = { ...AUTH_ERRORS, 404: ErrorBody };
  // The listing is also the dashboard's subscriptions page: a viewer may read it.
  const lister = createAuthHook(deps.auth, { kind: 'worker', scope: 'codeq:subscribe', viewerReads: true });

  app.post(
    '/workers/subscriptions',
    {
      onRequest: guard,
      schema: {
        summary: 'Subscribe to worker-availability notifications',
        tags: ['worker'],
        body: SubscribeBody,
        response: { 200: SubscriptionLeaseSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const body = request.body;
      if (body.eventTypes !== undefined && !body.eventTypes.every((c) => allowsCommand(principal, c))) {
        throw new ApiRefusal(403, 'event type not allowed');
      }
      const lease = await service().subscribe({
        ...body,
        owner: principal.subject,
        allowedCommands: principal.eventTypes,
      });
      return { subscriptionId: lease.subscriptionId, expiresAt: iso(lease.expiresAt) };
    },
  );

  app.post(
    '/workers/subscriptions/:id/heartbeat',
    {
      onRequest: guard,
      config: { optionalBody: true, notFound: 'subscription not found' },
      schema: {
        summary: 'Renew a subscription',
        tags: ['worker'],
        params: SubscriptionIdParams,
        body: SubscriptionHeartbeatBody,
        response: { 200: SubscriptionLeaseSchema, ...NOT_FOUND },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const caller = { owner: principal.subject, admin: principal.role === 'admin' };
      const lease = await service().heartbeat(request.params.id, caller, request.body.ttlSeconds);
      return { subscriptionId: lease.subscriptionId, expiresAt: iso(lease.expiresAt) };
    },
  );

  app.get(
    '/workers/subscriptions',
    {
      onRequest: lister,
      schema: {
        summary: "List the caller's live subscriptions (every one for an admin)",
        tags: ['worker'],
        response: { 200: Type.Object({ subscriptions: Type.Array(SubscriptionSchema) }), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      // A viewer (the dashboard) sees every subscription, as an admin does.
      const all = principal.role === 'admin' || principal.role === 'viewer';
      const subs = await service().list({ owner: principal.subject, admin: all });
      return { subscriptions: subs.map(listed) };
    },
  );

  app.delete(
    '/workers/subscriptions/:id',
    {
      onRequest: guard,
      config: { notFound: 'subscription not found' },
      schema: {
        summary: 'Unsubscribe (removes the subscription and its consumers)',
        tags: ['worker'],
        params: SubscriptionIdParams,
        response: { 204: Type.Null({ description: 'Removed' }), ...NOT_FOUND },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await service().unsubscribe(request.params.id, {
        owner: principal.subject,
        admin: principal.role === 'admin',
      });
      return reply.code(204).send(null);
    },
  );
};
