/**
 * The dashboard's JSON routes (issue 17). `GET /ui/api/session` is served at the root (beside the
 * dashboard's pages); the admin reads are under the API prefix with the other admin routes. An admin
 * or a viewer may call every read here.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '../contract/common.schema.js';
import { SERVER_VERSION, SessionSchema } from '../contract/dashboard.schema.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import type { RouteDeps } from './route-context.js';

/** Registers `GET /ui/api/session` (at the root: not under the API prefix). */
export const sessionRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  app.get(
    '/ui/api/session',
    {
      onRequest: createAuthHook(deps.auth, { kind: 'any' }),
      schema: {
        summary: "The caller's identity and role (the dashboard's sign-in check)",
        tags: ['dashboard'],
        response: { 200: SessionSchema, 401: ErrorBody },
      },
    },
    async (request) => {
      const { subject, role } = principalOf(request);
      return { subject, role, canAct: role !== 'viewer', version: SERVER_VERSION };
    },
  );
};
