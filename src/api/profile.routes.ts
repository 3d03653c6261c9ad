/**
 * Admin-only profiling of the running server (what Go services offer as pprof endpoints): a CPU
 * profile or a sampled heap profile over N seconds, as Chrome DevTools / `--cpu-prof` JSON
 * (`.cpuprofile` / `.heapprofile`), loadable in DevTools, speedscope or VS Code.
 */
import { Session } from 'node:inspector/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { createAuthHook } from './auth/authenticator.js';
import { AUTH_ERRORS } from './common.schema.js';
import { ApiRefusal } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';

/** Longest capture, seconds. */
const MAX_PROFILE_SECONDS = 120;
/** Bytes between heap samples (V8's default is 32 KiB). */
const HEAP_SAMPLING_INTERVAL_BYTES = 32 * 1024;

const ProfileQuery = Type.Object(
  {
    seconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_PROFILE_SECONDS, description: 'capture length, default 10 s' }),
    ),
  },
  { additionalProperties: false },
);

/** Registers `GET /admin/profile/cpu` and `GET /admin/profile/heap`. */
export const profileRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { auth, claims } = deps;
  app.addHook('onRequest', createAuthHook(auth, { kind: 'admin', acts: true }));
  // One capture at a time: the inspector profiles the whole process, so two would measure each other.
  let capturing = false;

  for (const kind of ['cpu', 'heap'] as const) {
    app.get(
      `/admin/profile/${kind}`,
      {
        schema: {
          summary:
            kind === 'cpu'
              ? 'CPU profile of this server process over `seconds` (.cpuprofile JSON)'
              : 'Sampled heap allocation profile of this server process over `seconds` (.heapprofile JSON)',
          tags: ['admin'],
          querystring: ProfileQuery,
          response: {
            200: Type.Unknown({ description: 'the profile (Chrome DevTools format)' }),
            ...AUTH_ERRORS,
          },
        },
      },
      async (request, reply) => {
        if (capturing) throw new ApiRefusal(409, 'a profile is already being captured');
        capturing = true;
        const seconds = request.query.seconds ?? 10;
        const controller = new AbortController();
        claims.waiting.add(controller); // server shutdown ends the capture early
        const session = new Session();
        session.connect();
        try {
          const wait = () =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, seconds * 1000);
              controller.signal.addEventListener('abort', () => {
                clearTimeout(timer);
                resolve();
              });
            });
          let profile: unknown;
          if (kind === 'cpu') {
            await session.post('Profiler.enable');
            await session.post('Profiler.start');
            await wait();
            profile = (await session.post('Profiler.stop')).profile;
          } else {
            await session.post('HeapProfiler.enable');
            await session.post('HeapProfiler.startSampling', {
              samplingInterval: HEAP_SAMPLING_INTERVAL_BYTES,
            });
            await wait();
            profile = (await session.post('HeapProfiler.stopSampling')).profile;
          }
          const file = `codeq-${new Date().toISOString().replace(/[:.]/g, '-')}.${kind}profile`;
          return reply.header('content-disposition', `attachment; filename="${file}"`).send(profile);
        } finally {
          session.disconnect();
          claims.waiting.delete(controller);
          capturing = false;
        }
      },
    );
  }
};
