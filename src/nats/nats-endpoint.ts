/**
 * One request–reply endpoint of the NATS micro service, served like an HTTP route: the
 * `Authorization` header through the HTTP authenticator and policy, the body parsed and validated
 * with the contract's schema, errors answered with the micro protocol's headers
 * (`Nats-Service-Error`, `Nats-Service-Error-Code` = the status HTTP gives the same error) and the
 * HTTP error body. The code→status mapping is `mapError` of `src/api/error-mapper.ts` (its one home).
 */
import type { ServiceGroup, ServiceMsg } from '@nats-io/services';
import { Match, type MsgHdrs } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AuthError, type AuthPolicy, type Principal } from '../api/auth/auth.types.js';
import type { Authenticator } from '../api/auth/authenticator.js';
import type { ErrorBodyJson, ErrorMessageOverrides } from '../api/error-mapper.js';
import { ApiRefusal, mapError } from '../api/error-mapper.js';
import { validationMessage } from '../contract/validation-message.js';

/** Returned by a handler that answered the request itself (a streamed reply). */
export const REPLIED = Symbol('replied');

/** What a handler receives. */
export interface NatsCall<B> {
  /** The validated body (the HTTP route's body plus its path parameters as fields). */
  body: B;
  /** The authenticated caller, as the endpoint's policy sees it. */
  principal: Principal;
  /** The request message (for streamed replies). */
  msg: ServiceMsg;
  /** Aborted when the interface stops: long-polls give up and answer what they have. */
  signal: AbortSignal;
}

/** An endpoint: its subject under `<prefix>.v1`, who may call it, its body, its handler. */
export interface NatsEndpointSpec<S extends TSchema> {
  /** Subject under the service group, e.g. `tasks.get`. */
  subject: string;
  /** The HTTP route's policy. */
  policy: AuthPolicy;
  /**
   * True when the endpoint only reads (the HTTP route is a GET): a viewer passes it as on HTTP.
   * Default false: a viewer is refused, as on every HTTP route that changes something.
   */
  reads?: boolean;
  /** The body schema (unknown fields refused: no codeQ client speaks NATS, so typos fail loudly). */
  body: S;
  /** The HTTP route's strings for engine errors (`not-found`, `not-in-progress`). */
  messages?: ErrorMessageOverrides;
  /** Answers the JSON reply, or {@link REPLIED} when it responded itself. */
  handle(call: NatsCall<Static<S>>): Promise<unknown>;
}

/** In-flight requests of the interface, so `stop` can abort long-polls and wait for the rest. */
export interface NatsLifecycle {
  /** Aborted on stop. */
  readonly signal: AbortSignal;
  /** Requests being handled right now. */
  readonly inFlight: Set<Promise<void>>;
}

/** What every endpoint needs besides its spec. */
export interface NatsEndpointDeps {
  /** The HTTP authenticator. */
  authenticator: Authenticator;
  /** Logger (unexpected errors). */
  logger: Logger;
  /** Stop bookkeeping. */
  lifecycle: NatsLifecycle;
}

/** A refusal: the status HTTP would answer and its body. */
export interface NatsErrorReply {
  /** HTTP status of the same error (the `Nats-Service-Error-Code` header). */
  status: number;
  /** The HTTP error body. */
  body: ErrorBodyJson;
}

/** The status and body HTTP answers for `err` (auth refusals included, as the auth hook does). */
export function natsErrorReply(err: unknown, overrides: ErrorMessageOverrides = {}): NatsErrorReply {
  if (err instanceof AuthError) return { status: err.status, body: { error: err.message } };
  const { status, body } = mapError(err, overrides);
  return { status, body };
}

/** Answers `msg` with the micro protocol's error headers and the HTTP error body. */
export function respondError(msg: ServiceMsg, reply: NatsErrorReply): void {
  if (msg.reply === '') return;
  msg.respondError(reply.status, reply.body.error, JSON.stringify(reply.body));
}

/** Answers `msg` with a JSON body. */
export function respondJson(msg: ServiceMsg, value: unknown): void {
  if (msg.reply === '') return;
  msg.respond(JSON.stringify(value));
}

/** The body of a request: JSON object, an empty payload being `{}`. Throws a 400 refusal otherwise. */
export function parseBody(data: Uint8Array): unknown {
  if (data.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new ApiRefusal(400, 'invalid body: malformed JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ApiRefusal(400, 'invalid body: expected a JSON object');
  return value;
}

/** A checker of `schema` that throws the HTTP route's 400 message. */
export function bodyChecker<S extends TSchema>(schema: S): (value: unknown) => Static<S> {
  const validator = Compile(schema);
  return (value) => {
    if (validator.Check(value)) return value as Static<S>;
    throw new ApiRefusal(400, validationMessage(validator.Errors(value), 'body', schema));
  };
}

/**
 * A request header, whatever its case, or `undefined` when absent or empty. (`@nats-io/services`
 * types its messages with its own copy of nats-core; the headers are our connection's.)
 */
export function headerOf(msg: ServiceMsg, name: string): string | undefined {
  const headers = msg.headers as unknown as MsgHdrs | undefined;
  return headers?.get(name, Match.IgnoreCase) || undefined;
}

/** The micro endpoint name of a subject (`tasks.get` → `tasks-get`: names cannot hold dots). */
function endpointName(subject: string): string {
  return subject.replaceAll('.', '-');
}

/** Adds `spec` to the service group. */
export function addNatsEndpoint<S extends TSchema>(
  group: ServiceGroup,
  spec: NatsEndpointSpec<S>,
  deps: NatsEndpointDeps,
): void {
  const check = bodyChecker(spec.body);
  const serve = async (msg: ServiceMsg): Promise<void> => {
    try {
      // Authenticated before the body is read, as HTTP does.
      const header = headerOf(msg, 'Authorization');
      const caller = await deps.authenticator.authenticate(header);
      // Never loopback: dev mode's X-Role/loopback shortcut does not apply over NATS.
      const facts = { loopback: false, method: spec.reads === true ? 'GET' : 'POST' };
      const principal = deps.authenticator.authorize(caller, spec.policy, facts);
      const body = check(parseBody(msg.data));
      const answer = await spec.handle({ body, principal, msg, signal: deps.lifecycle.signal });
      if (answer !== REPLIED) respondJson(msg, answer);
    } catch (err) {
      const reply = natsErrorReply(err, spec.messages);
      if (reply.status >= 500 && reply.status !== 503)
        deps.logger.error({ err, subject: msg.subject }, 'nats request failed');
      respondError(msg, reply);
    }
  };
  group.addEndpoint(endpointName(spec.subject), {
    subject: spec.subject,
    handler: (err, msg) => {
      if (err) return;
      const running = serve(msg).finally(() => deps.lifecycle.inFlight.delete(running));
      deps.lifecycle.inFlight.add(running);
    },
  });
}
