/**
 * Builds engines on the shared test servers with names unique to the test, and removes what they
 * created (stream, keys) afterwards.
 */
import { connect } from '@nats-io/transport-node';
import { inject } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/engine/engine.types.js';
import { ControlLog } from '../../src/events/control-log.js';
import { IdempotencyRegistry, idempotencyBucket } from '../../src/events/idempotency-registry.js';
import { deleteStream } from '../../src/events/stream.js';
import { connectRedisClient, createRedisClient } from '../../src/projections/redis-client.js';
import { unlinkOnEveryMaster } from '../../src/projections/redis-slots.js';
import { uniqueName } from './servers.js';

/** Names of one test's isolated deployment on shared servers. */
export interface TestDeployment {
  natsUrl: string;
  redisUrl: string;
  streamName: string;
  subjectPrefix: string;
  keyPrefix: string;
}

/** A fresh deployment name set (stream, subject prefix, key prefix). */
export function testDeployment(overrides: Partial<TestDeployment> = {}): TestDeployment {
  const name = uniqueName('T');
  return {
    natsUrl: inject('natsUrl'),
    redisUrl: inject('redisUrl'),
    streamName: `S_${name}`,
    subjectPrefix: `t.${name.toLowerCase()}`,
    keyPrefix: `k_${name.toLowerCase()}`,
    ...overrides,
  };
}

/** Engine options for a deployment. */
export function engineOptions(d: TestDeployment, extra: Partial<EngineOptions> = {}): EngineOptions {
  return {
    natsServers: d.natsUrl,
    redisUrl: d.redisUrl,
    streamName: d.streamName,
    subjectPrefix: d.subjectPrefix,
    keyPrefix: d.keyPrefix,
    background: false,
    ...extra,
  };
}

/** Deletes a deployment's stream and keys. */
export async function dropDeployment(d: TestDeployment): Promise<void> {
  const nc = await connect({ servers: d.natsUrl });
  await deleteStream(nc, d.streamName).catch(() => undefined);
  await IdempotencyRegistry.destroy(nc, idempotencyBucket(d.streamName)).catch(() => undefined);
  await new ControlLog({ nc, taskStream: d.streamName }).destroy().catch(() => undefined);
  await nc.close();
  await wipeDeploymentKeys(d);
}

/** Deletes every Redis key of a deployment (what FLUSHALL does to it, without touching others). */
export async function wipeDeploymentKeys(d: TestDeployment): Promise<void> {
  const redis = createRedisClient({ url: d.redisUrl });
  try {
    await connectRedisClient(redis, d.redisUrl);
    await unlinkOnEveryMaster(redis, `${d.keyPrefix}:*`, undefined, 1000);
  } finally {
    redis.disconnect();
  }
}

/** An engine on its own deployment; `close()` closes it and drops the deployment. */
export async function createTestEngine(
  extra: Partial<EngineOptions> = {},
): Promise<{ engine: Engine; deployment: TestDeployment; close: () => Promise<void> }> {
  const deployment = testDeployment();
  const engine = await Engine.create(engineOptions(deployment, extra));
  return {
    engine,
    deployment,
    close: async () => {
      await engine.close();
      await dropDeployment(deployment);
    },
  };
}
