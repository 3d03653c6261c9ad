/**
 * `workers.credit` (docs/nats.md, "Push delivery"): a worker grants this instance credits; the
 * instance claims for the worker's principal and delivers the tasks to the worker's subject
 * ({@link WorkerDelivery}). The same policy as the HTTP claim (scope `codeq:claim`, the token's event
 * types), so a token that may not claim a command cannot be pushed its tasks either.
 */
import Type from 'typebox';
import { claimInput } from '../api/claim-handler.js';
import { addNatsEndpoint } from './nats-endpoint.js';
import { assertDeliverable, parseCreditRequest } from './credit-request.js';
import { apiRoot, type NatsEndpointContext } from './nats-context.js';
import { WorkerDelivery } from './worker-delivery.js';

/**
 * Adds `workers.credit`. The push delivery stops with the interface: claiming ends, and the stop
 * (deliveries in flight answered or abandoned) is waited for like a request in flight.
 */
export function addWorkerEndpoints(ctx: NatsEndpointContext): void {
  const { engine, group, deps, config } = ctx;
  const delivery = new WorkerDelivery({
    nc: ctx.nc,
    engine,
    logger: ctx.logger,
    payloadFormat: config.payloadFormat,
  });
  const { lifecycle } = deps;
  const stop = () => {
    const stopping = delivery.stop();
    lifecycle.inFlight.add(stopping);
  };
  if (lifecycle.signal.aborted) stop();
  else lifecycle.signal.addEventListener('abort', stop, { once: true });
  addNatsEndpoint(
    group,
    {
      subject: 'workers.credit',
      policy: { kind: 'worker', scope: 'codeq:claim' },
      // Checked by parseCreditRequest (its own limits: credits, expiry, a deliverable subject).
      body: Type.Object({}, { additionalProperties: true }),
      async handle({ body, principal }) {
        const request = parseCreditRequest(body);
        assertDeliverable(request.deliverSubject, apiRoot(config));
        // The HTTP claim's rules: the body's commands, else the token's event types; each allowed.
        const { workerId, commands } = claimInput(principal, { commands: request.commands }, config, false);
        return { granted: delivery.credit(workerId, commands, request) };
      },
    },
    deps,
  );
}
