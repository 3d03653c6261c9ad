/** The whole service (`startService`) in-process on the suite's NATS and Redis, for CLI and SDK tests. */
import { inject } from 'vitest';
import { startService, type RunningService } from '../../src/service/start-service.js';
import type { TestDeployment } from './engine.js';
import { uniqueName } from './servers.js';

/**
 * Starts the service in dev mode on a free port, with a stream, subjects and keys of its own
 * (named after `prefix`) on the shared servers, and silent logs. The caller stops it.
 */
export async function startTestService(
  prefix: string,
  /** More configuration (env form); `name` reuses another start's stream, subjects and keys. */
  extra: { env?: Record<string, string>; name?: string } = {},
): Promise<RunningService> {
  const name = extra.name ?? uniqueName(prefix);
  return startService({
    argv: ['--port', '0', '--dev'],
    env: {
      NATS_URL: inject('natsUrl'),
      REDIS_URL: inject('redisUrl'),
      STREAM_NAME: name,
      SUBJECT_PREFIX: `${name.toLowerCase()}.task`,
      KEY_PREFIX: name.toLowerCase(),
      // The NATS interface's subjects (and its intake stream's) are the deployment's own too.
      NATS_API_PREFIX: name.toLowerCase(),
      LOG_LEVEL: 'silent',
      ...extra.env,
    },
    print: () => {},
  });
}

/**
 * The environment of a codeq instance on deployment `d` (stream, subjects, keys on the suite's
 * servers), any free HTTP port and NATS API prefix `natsApiPrefix`: instances started with the same
 * `d` share one deployment.
 */
export function deploymentEnv(d: TestDeployment, natsApiPrefix: string): Record<string, string> {
  return {
    NATS_URL: d.natsUrl,
    REDIS_URL: d.redisUrl,
    STREAM_NAME: d.streamName,
    SUBJECT_PREFIX: d.subjectPrefix,
    KEY_PREFIX: d.keyPrefix,
    NATS_API_PREFIX: natsApiPrefix,
    PORT: '0',
  };
}
