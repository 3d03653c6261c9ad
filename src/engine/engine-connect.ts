/**
 * The engine's connections: NATS (with the options the hot path needs) and the provisioned task
 * stream, then Redis. Either both connect or neither is left open.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { CodeqError } from '../errors.js';
import { provisionStream } from '../events/stream.js';
import { connectRedisClient, createRedisClient, type RedisClient } from '../projections/redis-client.js';
import type { EngineOptions } from './engine.types.js';

/** Outbound bytes the NATS client buffers before writing inline (its default is 32 KiB). */
const PENDING_LIMIT_BYTES = 256 * 1024;

/** Connects to NATS and Redis and provisions the stream; closes what it opened if anything fails. */
export async function connectEngine(
  options: EngineOptions,
  stream: { name: string; subjectPrefix: string },
  logger: Logger,
): Promise<{ nc: NatsConnection; redis: RedisClient }> {
  // Built first (a malformed URL fails before anything opens), connected last. ioredis reconnects
  // by itself; meanwhile commands fail fast (see redis-client.ts).
  const redis = createRedisClient({
    url: options.redisUrl,
    dependencyTimeoutMs: options.dependencyTimeoutMs,
    onError: (err) => logger.warn({ err: err.message }, 'redis connection error'),
  });
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.natsServers,
      name: 'codeq',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // This process wakes its own claimers directly; the echo of its wake-ups would only wake
      // them a second time.
      noEcho: true,
      // The client writes to the socket inline once 32 KiB are pending; batches of appends are
      // larger than that, so a bigger buffer means far fewer write syscalls (nats.js hidden option).
      ...({ pendingLimit: PENDING_LIMIT_BYTES } as object),
    });
  } catch (err) {
    throw new CodeqError('UNAVAILABLE', `cannot connect to NATS at ${String(options.natsServers)}`, {
      cause: err,
    });
  }
  try {
    const streamOptions: Parameters<typeof provisionStream>[1] = {
      name: stream.name,
      subjectPrefix: stream.subjectPrefix,
    };
    if (options.streamReplicas !== undefined) streamOptions.replicas = options.streamReplicas;
    if (options.streamMaxAgeMs !== undefined) streamOptions.maxAgeMs = options.streamMaxAgeMs;
    if (options.streamDuplicateWindowMs !== undefined)
      streamOptions.duplicateWindowMs = options.streamDuplicateWindowMs;
    await provisionStream(nc, streamOptions);
    await connectRedisClient(redis, options.redisUrl);
  } catch (err) {
    redis.disconnect();
    await nc.close();
    throw err;
  }
  return { nc, redis };
}
