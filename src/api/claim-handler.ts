/**
 * The claim of the worker routes, shared by `POST /tasks/claim` and codeQ's `POST /tasks/claim/batch`:
 * which commands (the body's, else the token's event types), the long-poll and its abort signal
 * (client gone, server closing, also used by the result long-poll), and the engine call.
 */
import type { FastifyReply } from 'fastify';
import type { TaskView } from '../contract/views.js';
import type { ClaimInput } from '../engine/engine.types.js';
import { WAIT_SECONDS_MAX } from '../contract/limits.js';
import { allowsCommand } from './auth/auth.types.js';
import type { Principal } from './auth/auth.types.js';
import { ApiRefusal } from './error-mapper.js';
import type { ClaimLifecycle, RouteDeps } from './route-context.js';

/** What a claim asks for (fields of the claim bodies). */
export interface ClaimRequest {
  /** Commands to claim from; default the token's event types. */
  commands?: string[] | undefined;
  /** Lease length, seconds; default `defaultLeaseSeconds`. */
  leaseSeconds?: number | undefined;
  /** Long-poll, seconds; default 0, capped at {@link WAIT_SECONDS_MAX}. */
  waitSeconds?: number | undefined;
  /** Most tasks to take; default 1. */
  count?: number | undefined;
}

/**
 * An abort signal for one long-poll (a claim, a result wait): fires when the client goes away before
 * the answer, or when the server shuts down. `release` must be called once the wait returns.
 */
export function requestSignal(
  reply: FastifyReply,
  claims: ClaimLifecycle,
): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  // The response's 'close' fires on a dropped connection too; unfinished means the client left.
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  reply.raw.on('close', onClose);
  claims.waiting.add(controller);
  return {
    signal: controller.signal,
    release: () => {
      claims.waiting.delete(controller);
      reply.raw.off('close', onClose);
    },
  };
}

/**
 * The engine's claim input for `principal` (the token's subject is the worker id), without the
 * signal: the body's commands (else the token's event types, refused for a token of every type),
 * each one allowed, and the long-poll capped (none once the server is closing). Shared by HTTP and
 * NATS.
 */
export function claimInput(
  principal: Principal,
  body: ClaimRequest,
  config: Pick<RouteDeps['config'], 'defaultLeaseSeconds'>,
  closing: boolean,
): Omit<ClaimInput, 'signal'> {
  let commands = body.commands;
  if (commands === undefined || commands.length === 0) {
    if (principal.eventTypes.includes('*')) {
      throw new ApiRefusal(
        400,
        "invalid body: 'commands' is required when the token allows every event type",
      );
    }
    commands = [...principal.eventTypes];
  }
  if (!commands.every((c) => allowsCommand(principal, c)))
    throw new ApiRefusal(403, 'event type not allowed');
  return {
    workerId: principal.subject,
    commands: [...new Set(commands)],
    leaseSeconds: body.leaseSeconds ?? config.defaultLeaseSeconds,
    waitSeconds: closing ? 0 : Math.min(WAIT_SECONDS_MAX, body.waitSeconds ?? 0),
    count: body.count ?? 1,
  };
}

/** Claims for `principal` over HTTP; the tasks taken, maybe none. */
export async function claimTasks(
  principal: Principal,
  body: ClaimRequest,
  reply: FastifyReply,
  deps: Pick<RouteDeps, 'engine' | 'config' | 'claims'>,
): Promise<TaskView[]> {
  const { engine, config, claims } = deps;
  const input = claimInput(principal, body, config, claims.closing);
  const { signal, release } = requestSignal(reply, claims);
  try {
    return await engine.claim({ ...input, signal });
  } finally {
    release();
  }
}
