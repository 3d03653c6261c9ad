/** What every endpoint group of the NATS interface receives (dependencies passed in, never global). */
import type { NatsConnection } from '@nats-io/transport-node';
import type { ServiceGroup } from '@nats-io/services';
import type { Logger } from 'pino';
import type { CodeqConfig } from '../config.js';
import type { EngineApi } from '../engine/engine.types.js';
import type { TaskWire } from '../api/task-json.js';
import type { NatsEndpointDeps } from './nats-endpoint.js';

/** Dependencies of the endpoint groups. */
export interface NatsEndpointContext {
  /** The connection the service and the intake use. */
  nc: NatsConnection;
  /** The engine the endpoints call. */
  engine: EngineApi;
  /** The configuration (defaults, limits, prefix). */
  config: CodeqConfig;
  /** Logger. */
  logger: Logger;
  /** The service group `<natsApiPrefix>.v1`: endpoints add their subjects under it. */
  group: ServiceGroup;
  /** Authenticator and stop bookkeeping, for `addNatsEndpoint`. */
  deps: NatsEndpointDeps;
  /** How a request's tasks are written: codeQ's Task shape, or the full view for `"view":"full"`. */
  wire(body: { view?: string | undefined }): TaskWire;
}

/** The subject root of the interface: `<natsApiPrefix>.v1`. */
export function apiRoot(config: Pick<CodeqConfig, 'natsApiPrefix'>): string {
  return `${config.natsApiPrefix}.v1`;
}
