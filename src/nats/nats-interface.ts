/**
 * The NATS-native interface of a codeq server (docs/nats.md): the micro service `codeq` (the NATS
 * micro protocol, so `$SRV.PING|INFO|STATS` discovery works) with its request–reply endpoints under
 * `<natsApiPrefix>.v1`, the same bodies, errors and auth as HTTP. Every instance adds the same
 * service; the protocol's queue group spreads requests among them. The publish intake
 * (`publish-intake.ts`) runs beside it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Svcm, type Service } from '@nats-io/services';
import type { Logger } from 'pino';
import type { Authenticator } from '../api/auth/authenticator.js';
import type { CodeqConfig } from '../config.js';
import type { EngineApi } from '../engine/engine.types.js';
import { CodeqError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { apiRoot, type NatsEndpointContext } from './nats-context.js';
import type { NatsLifecycle } from './nats-endpoint.js';
import { addLeaseEndpoints } from './lease.endpoints.js';
import { addProducerEndpoints } from './producer.endpoints.js';
import { addQueueEndpoints } from './queue.endpoints.js';
import { startPublishIntake } from './publish-intake.js';
import { addReplayEndpoint } from './replay.endpoint.js';
import { addTaskReadEndpoints } from './task-reads.endpoints.js';
import { addWorkerEndpoints } from './worker.endpoints.js';

/** Name of the micro service every codeq instance adds. */
export const NATS_SERVICE_NAME = 'codeq';

/** Dependencies of {@link startNatsInterface}. */
export interface NatsInterfaceOptions {
  /** The connection to serve on (the caller owns it and closes it after `stop`). */
  nc: NatsConnection;
  /** The engine the endpoints call. */
  engine: EngineApi;
  /** The HTTP authenticator (same tokens, JWKS and policies). */
  authenticator: Authenticator;
  /** The configuration (`natsApiPrefix`, defaults, limits). */
  config: CodeqConfig;
  /** Logger. */
  logger: Logger;
  /** Metrics (intake refusals); optional. */
  metrics?: Metrics;
}

/** A running interface. */
export interface NatsInterface {
  /** The micro service (its stats, info). */
  readonly service: Service;
  /** Stops the service: long-polls answer what they have, in-flight requests finish. Idempotent. */
  stop(): Promise<void>;
}

/** The endpoint groups, each adding its subjects (one file per group). */
const ENDPOINT_GROUPS: ReadonlyArray<(ctx: NatsEndpointContext) => void> = [
  addProducerEndpoints,
  addTaskReadEndpoints,
  addLeaseEndpoints,
  addQueueEndpoints,
  addReplayEndpoint,
  addWorkerEndpoints,
];

/** Starts the interface on `options.nc`. */
export async function startNatsInterface(options: NatsInterfaceOptions): Promise<NatsInterface> {
  const { nc, engine, authenticator, config, logger } = options;
  const log = logger.child({ component: 'nats-api' });
  const abort = new AbortController();
  const lifecycle: NatsLifecycle = { signal: abort.signal, inFlight: new Set() };
  // `@nats-io/services` types the connection with its own copy of nats-core (3.0.0-50); the
  // protocol is the same.
  const service = await new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({
    name: NATS_SERVICE_NAME,
    version: packageVersion(),
    description: 'codeq task queue (docs/nats.md)',
    // Clients sharing a NATS server with several deployments pick theirs by prefix.
    metadata: { prefix: config.natsApiPrefix, api: apiRoot(config) },
  });
  const ctx: NatsEndpointContext = {
    nc,
    engine,
    config,
    logger: log,
    group: service.addGroup(apiRoot(config)),
    deps: { authenticator, logger: log, lifecycle },
    wire: (body) => ({ payloadFormat: config.payloadFormat, full: body.view === 'full' }),
  };
  let intake: { stop(): Promise<void> };
  try {
    for (const add of ENDPOINT_GROUPS) add(ctx);
    intake = await startPublishIntake({
      nc,
      engine,
      authenticator,
      config,
      logger: log,
      metrics: options.metrics,
    });
  } catch (err) {
    await service.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    service,
    stop: () =>
      (stopping ??= (async () => {
        abort.abort();
        await intake.stop();
        await service.stop().catch((err: unknown) => log.warn({ err }, 'nats service stop failed'));
        // Requests already taken finish (their replies go out before the connection closes).
        await Promise.allSettled([...lifecycle.inFlight]);
      })()),
  };
}

/** The package's version (the service version discovery reports), from the nearest package.json. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'codeq' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here: one level up.
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/**
 * Connects to `servers` on a connection of its own (its requests never queue behind the engine's
 * appends) and starts the interface on it; `stop` also drains that connection.
 */
export async function serveNatsInterface(
  servers: string[],
  options: Omit<NatsInterfaceOptions, 'nc'>,
): Promise<NatsInterface> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers, name: 'codeq-api', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  } catch (err) {
    throw new CodeqError('UNAVAILABLE', `cannot connect to NATS at ${servers.join(',')}`, { cause: err });
  }
  let api: NatsInterface;
  try {
    api = await startNatsInterface({ ...options, nc });
  } catch (err) {
    await nc.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    service: api.service,
    stop: () => (stopping ??= api.stop().finally(() => nc.drain().catch(() => nc.close()))),
  };
}
