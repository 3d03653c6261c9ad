/**
 * Queue reads over NATS: `queues.stats` (one command: counts, controls, health, as
 * `GET /admin/queues/:command`) and `queues.list` (every command's counts the caller may see, as
 * `GET /admin/queues`). Admin only, as over HTTP.
 */
import Type from 'typebox';
import { allowsCommand, assertCommandAllowed } from '../api/auth/auth.types.js';
import { Command } from '../contract/common.schema.js';
import type { NatsEndpointContext } from './nats-context.js';
import { addNatsEndpoint } from './nats-endpoint.js';

/** Adds `queues.stats` and `queues.list`. */
export function addQueueEndpoints(ctx: NatsEndpointContext): void {
  const { engine, group, deps } = ctx;
  addNatsEndpoint(
    group,
    {
      subject: 'queues.stats',
      reads: true,
      policy: { kind: 'admin' },
      body: Type.Object({ command: Command }, { additionalProperties: false }),
      async handle({ body, principal }) {
        assertCommandAllowed(principal, body.command);
        return engine.queueDetail(body.command);
      },
    },
    deps,
  );
  addNatsEndpoint(
    group,
    {
      subject: 'queues.list',
      reads: true,
      policy: { kind: 'admin' },
      body: Type.Object({}, { additionalProperties: false }),
      async handle({ principal }) {
        // An admin limited to some commands sees only those.
        return (await engine.allQueueStats()).filter((s) => allowsCommand(principal, s.command));
      },
    },
    deps,
  );
}
