/**
 * The one place that builds Redis clients: a single Redis (`redis://`) or a Redis Cluster
 * (`redis+cluster://host:port,...`), both configured to fail fast. Everything else is typed against
 * {@link RedisClient}, which both satisfy.
 *
 * Failing fast (design: a request waits on a dependency at most `dependencyTimeoutMs`):
 * - No offline queue: while the connection is down a command fails at once instead of waiting for
 *   the reconnect. Nothing relies on the queue: every write is an idempotent apply of an event the
 *   log already holds, which the projector re-applies from its checkpoint when it failed here.
 * - `commandTimeout`: a command sent on a connection that stopped answering (a hung or unreachable
 *   server the socket has not noticed yet) fails after the deadline. Its reply, if it ever comes,
 *   is matched and dropped, so the commands after it on the connection still get their own
 *   answers in order.
 * - Short reconnect back-off, so operations succeed again soon after Redis is back.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { CodeqError } from '../errors.js';
import { parseRedisTarget } from './redis-target.js';

/** A single Redis or a Redis Cluster client. */
export type RedisClient = Redis | Cluster;

/** Default of {@link RedisClientOptions.dependencyTimeoutMs}, ms. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 5000;

/** Longest wait between two reconnect attempts, ms (ioredis's own default grows to 2 s). */
const RECONNECT_MAX_MS = 500;

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions {
  /** `redis://`, `rediss://`, `redis+cluster://[user:pass@]host:port,...` or `rediss+cluster://`. */
  url: string;
  /** The longest one command waits for its answer before it fails, ms; default 5000. */
  dependencyTimeoutMs?: number | undefined;
  /** Connection errors (reconnects are automatic); default ignored. */
  onError?: ((err: Error) => void) | undefined;
}

/** True when `client` is a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Builds a client (not yet connected: call {@link connectRedisClient}). Throws `INVALID_INPUT` on
 * a malformed cluster URL.
 */
export function createRedisClient(options: RedisClientOptions): RedisClient {
  const target = parseRedisTarget(options.url);
  const commandTimeout = options.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
  const retryStrategy = (times: number): number => Math.min(times * 50, RECONNECT_MAX_MS);
  let client: RedisClient;
  if (target.kind === 'single') {
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout,
      retryStrategy,
    };
    client = new Redis(target.url, redisOptions);
  } else {
    const redisOptions: RedisOptions = { commandTimeout };
    if (target.username !== undefined) redisOptions.username = target.username;
    if (target.password !== undefined) redisOptions.password = target.password;
    if (target.tls) redisOptions.tls = {};
    const clusterOptions: ClusterOptions = {
      lazyConnect: true,
      // Commands for a slot whose master is unreachable are retried (every 100 ms, with a slot
      // map refresh, up to 16 times) while a replica takes over, then fail; none waits unbounded.
      enableOfflineQueue: false,
      clusterRetryStrategy: (times: number) => Math.min(100 + times * 2, RECONNECT_MAX_MS),
      redisOptions,
    };
    client = new Cluster(target.nodes, clusterOptions);
  }
  // Without a listener ioredis prints every failed reconnect as an "Unhandled error event".
  client.on('error', options.onError ?? (() => undefined));
  return client;
}

/** Connects a client built by {@link createRedisClient}; `UNAVAILABLE` (with the URL) if it cannot. */
export async function connectRedisClient(client: RedisClient, url: string): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new CodeqError('UNAVAILABLE', `cannot connect to Redis at ${redactUrl(url)}`, { cause: err });
  }
}

/** Closes a client politely, or at once if Redis does not answer. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}

/** The masters: the client itself for a single Redis, every master node of a cluster. */
export function masterNodes(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** A URL without its password, for messages and logs. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
