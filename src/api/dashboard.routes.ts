/**
 * The dashboard's JSON routes (issue 17). `GET /ui/api/session` is served at the root (beside the
 * dashboard's pages); the admin reads are under the API prefix with the other admin routes. An admin
 * or a viewer may call every read here; an admin limited to some commands sees only those.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import Type from 'typebox';
import { ErrorBody, TaskSchema } from '../contract/common.schema.js';
import {
  OverviewSchema,
  SearchQuery,
  SERVER_VERSION,
  SessionSchema,
  WorkersResponse,
} from '../contract/dashboard.schema.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import type { SearchInput } from '../engine/task-search.js';
import type { Principal } from './auth/auth.types.js';
import { allowsCommand, assertCommandAllowed } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { AUTH_ERRORS } from './common.schema.js';
import { ApiRefusal } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';
import { taskJson } from './task-json.js';

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

/** The commands a caller may see, as a predicate. */
export const visibleTo = (principal: Principal) => (command: string) => allowsCommand(principal, command);

/** An epoch-ms or RFC 3339 query time; 400 naming the parameter otherwise. */
function timeParam(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{1,15}$/.test(text) ? Number(text) : parseRfc3339(text);
  if (at === undefined) throw new ApiRefusal(400, `invalid '${name}' (epoch ms or RFC 3339)`);
  return at;
}

/** The engine's search input of a query (times parsed, the caller's commands applied). */
function searchInput(query: Static<typeof SearchQuery>, principal: Principal): SearchInput {
  const { createdFrom, createdTo, ...rest } = query;
  if (rest.command !== undefined) assertCommandAllowed(principal, rest.command);
  return {
    ...rest,
    createdFrom: timeParam('createdFrom', createdFrom),
    createdTo: timeParam('createdTo', createdTo),
    visible: visibleTo(principal),
  };
}

/** Registers the dashboard's admin reads (overview, search, workers) under the API prefix. */
export const dashboardRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config } = deps;
  app.addHook('onRequest', createAuthHook(auth, { kind: 'admin' }));

  app.get(
    '/admin/overview',
    {
      schema: {
        summary: "Every queue's counts, rates and last hour per minute; active workers (dashboard)",
        tags: ['dashboard'],
        response: { 200: OverviewSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => engine.overview(visibleTo(principalOf(request))),
  );

  app.get(
    '/admin/tasks/search',
    {
      schema: {
        summary: 'Search tasks, newest first (indexed filters exact; others scan at most 5,000 per request)',
        tags: ['dashboard'],
        querystring: SearchQuery,
        response: {
          200: Type.Object({
            items: Type.Array(TaskSchema),
            nextCursor: Type.Optional(Type.String()),
            total: Type.Integer({
              description: 'exact when totalExact, else the matches seen (a lower bound)',
            }),
            totalExact: Type.Boolean(),
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const page = await engine.searchTasks(searchInput(request.query, principalOf(request)));
      // The dashboard shows everything a task has: the full view, payload as JSON.
      const wire = { payloadFormat: config.payloadFormat, full: true };
      return { ...page, items: page.items.map((t) => taskJson(t, wire)) };
    },
  );

  app.get(
    '/admin/workers',
    {
      schema: {
        summary: 'Workers seen (claim, heartbeat, nack, result) in the last 10 minutes (dashboard)',
        tags: ['dashboard'],
        response: { 200: WorkersResponse, ...AUTH_ERRORS },
      },
    },
    async (request) => ({ workers: await engine.workersSeen(visibleTo(principalOf(request))) }),
  );
};
