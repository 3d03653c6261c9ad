/**
 * One request to codeq's NATS service (`<prefix>.v1.<endpoint>`, docs/nats.md): the JSON body out,
 * the bearer token in the `Authorization` header, and the answer back, with the micro protocol's
 * error headers turned into the same {@link CodeqError} the HTTP client raises for that status.
 */
import { RequestError, TimeoutError, headers as natsHeaders } from '@nats-io/nats-core';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { decodeAnswer, errorCodeForStatus, errorOfAnswer } from '../client/http-request.js';
import type { Role, RoleTokens } from '../client/http-client.types.js';
import { CodeqError } from '../errors.js';

/** Options of a {@link NatsRequester}. */
export interface NatsRequesterOptions {
  /** The connection (the caller's; the requester never closes it). */
  nc: NatsConnection;
  /** Subject prefix of the service (`natsApiPrefix`), default `codeq`. */
  prefix?: string;
  /** Bearer tokens per role; `default` for a role without its own. */
  tokens?: RoleTokens;
  /** Request timeout in ms on top of any long-poll wait; default 30 000 ms. */
  timeoutMs?: number;
}

/** Sends requests to codeq's NATS endpoints. */
export class NatsRequester {
  /** `<prefix>.v1`, the root of every subject. */
  readonly root: string;
  private readonly nc: NatsConnection;
  private readonly tokens: RoleTokens;
  private readonly timeoutMs: number;

  constructor(options: NatsRequesterOptions) {
    this.nc = options.nc;
    this.root = `${options.prefix ?? 'codeq'}.v1`;
    this.tokens = options.tokens ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Requests `endpoint` (e.g. `tasks.claim`) with `body` as `role`; the decoded answer (`undefined`
   * for an empty one). `waitSeconds` lengthens the timeout for a long-poll.
   */
  async call<T>(role: Role, endpoint: string, body: unknown, waitSeconds = 0): Promise<T> {
    const subject = `${this.root}.${endpoint}`;
    const token = this.tokens[role] ?? this.tokens.default;
    const h = natsHeaders();
    if (token) h.set('Authorization', `Bearer ${token}`);
    let msg: Msg;
    try {
      msg = await this.nc.request(subject, JSON.stringify(body), {
        timeout: this.timeoutMs + waitSeconds * 1000,
        headers: h,
      });
    } catch (err) {
      throw requestFailure(err, subject, role);
    }
    const text = msg.data.length === 0 ? '' : msg.string();
    const decoded = decodeAnswer(text);
    const status = msg.headers?.get('Nats-Service-Error-Code');
    if (!status) return decoded as T;
    const fallback = msg.headers?.get('Nats-Service-Error') || `request to ${subject} failed`;
    const { message, bodyCode } = errorOfAnswer(decoded, fallback);
    const code = Number(status);
    throw new CodeqError(errorCodeForStatus(code, message, bodyCode), message, {
      // The role says which token was sent (or missing): the CLI names the variable to set.
      details: { status: code, subject, role },
    });
  }
}

/** A request that got no answer: no instance serves the subject, the timeout passed, or NATS is gone. */
function requestFailure(err: unknown, subject: string, role: Role): CodeqError {
  if (err instanceof RequestError && err.isNoResponders())
    // No instance up (a restart: retry) or a server without this endpoint (an older version).
    return new CodeqError('UNAVAILABLE', `no codeq instance answers ${subject}`, {
      cause: err,
      details: { subject, role, noResponders: true },
    });
  const reason = err instanceof Error ? err.message : String(err);
  const what = err instanceof TimeoutError ? 'no answer in time' : reason;
  return new CodeqError('UNAVAILABLE', `request to ${subject} failed: ${what}`, {
    cause: err,
    details: { subject, role },
  });
}
