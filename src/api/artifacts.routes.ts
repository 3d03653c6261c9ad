/**
 * `GET /tasks/:id/artifacts/:name`: the content of a result's inline artifact, stored under
 * `localArtifactsDir` when the worker submitted it (see src/engine/artifact-files.ts). Readable by
 * whoever may read the task (`GET /tasks/:id`): its producers, its workers, admins.
 */
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ErrorBody, TaskId } from '../contract/common.schema.js';
import { ARTIFACT_NAME_MAX_LENGTH } from '../contract/limits.js';
import { assertTaskVisible } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { READ_MESSAGES } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';

// A stored content type is sent only when it looks like one (`type/subtype`, parameters allowed):
// it came from a worker, and a header must never carry what it did not check.
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;\s*[\x20-\x7e]*)?$/;

/** Registers the artifact route. */
export const artifactsRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const reader = createAuthHook(deps.auth, { kind: 'any' });

  app.get(
    '/tasks/:id/artifacts/:name',
    {
      onRequest: reader,
      config: { notFound: READ_MESSAGES.notFound, messages: READ_MESSAGES },
      schema: {
        summary: "The content of a result's inline artifact (codeq addition)",
        tags: ['producer', 'worker'],
        params: Type.Object(
          { id: TaskId, name: Type.String({ minLength: 1, maxLength: ARTIFACT_NAME_MAX_LENGTH }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Unknown({ description: 'the artifact bytes' }),
          401: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { task, file } = await deps.engine.artifactFile(request.params.id, request.params.name);
      assertTaskVisible(principalOf(request), task);
      const type =
        file.contentType !== undefined && MEDIA_TYPE.test(file.contentType) ? file.contentType : undefined;
      return reply
        .header('content-type', type ?? 'application/octet-stream')
        .header('content-length', file.size)
        .header(
          'content-disposition',
          `attachment; filename*=UTF-8''${encodeURIComponent(request.params.name)}`,
        )
        .header('x-content-type-options', 'nosniff')
        .send(createReadStream(file.path));
    },
  );
};
