/**
 * The request plumbing of `CodeqHttpClient` (http-client.ts): the URL, the role's bearer token, the timeout (on
 * top of a long-poll wait), the send, and the answer decoded or turned into a {@link CodeqError}
 * whose code the HTTP status decides (`details.status` keeps it).
 */
import type { CodeqErrorCode } from '../errors.js';
import { CodeqError } from '../errors.js';
import type { HttpClientOptions, Role, RoleTokens } from './http-client.types.js';
import { fetchSender, nodeHttpSender, type HttpAnswer, type HttpSender } from './http-send.js';

const PREFIX = '/v1/codeq';

/** Per-request options of {@link HttpRequester.request}. */
export interface RequestOptions {
  /** Server-side long-poll wait, seconds, added to the timeout; default 0. */
  waitSeconds?: number;
  /** Overrides the client's timeout, ms; 0 = none. Default the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Aborts the request; an abort is `ABORTED`, not `UNAVAILABLE`. Default none. */
  signal?: AbortSignal | undefined;
  /** The path is from the server root, not under `/v1/codeq` (health checks); default false. */
  raw?: boolean;
}

/**
 * Maps an HTTP error status (and the server's message, and the `code` of its body when it sent one)
 * to a codeq error code.
 */
export function errorCodeForStatus(status: number, message: string, bodyCode?: unknown): CodeqErrorCode {
  if (status === 409 && bodyCode === 'TASK_CANCELLED') return 'TASK_CANCELLED';
  if (status === 400 || status === 413 || status === 422) return 'INVALID_INPUT';
  if (status === 401) return 'UNAUTHORIZED';
  // 403 means either "not the lease holder" or "this token may not do that" (scope, event type).
  if (status === 403) return /not[-_ ]?owner/i.test(message) ? 'NOT_OWNER' : 'INVALID_INPUT';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return /idempotency/i.test(message) ? 'IDEMPOTENCY_CONFLICT' : 'WRONG_STATE';
  if (status === 408 || status === 429 || status >= 500) return 'UNAVAILABLE';
  return 'INTERNAL';
}

/** An answer's text decoded: its JSON, the text itself when not JSON, `undefined` when empty. */
export function decodeAnswer(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** An error answer's message (its `error` field, else `fallback`) and the `code` of its body. */
export function errorOfAnswer(decoded: unknown, fallback: string): { message: string; bodyCode: unknown } {
  const body = decoded && typeof decoded === 'object' ? (decoded as { error?: unknown; code?: unknown }) : {};
  return { message: typeof body.error === 'string' ? body.error : fallback, bodyCode: body.code };
}

/** Sends the client's requests; stateless apart from its options and its sender's idle connections. */
export class HttpRequester {
  /** The server root, without a trailing slash. */
  readonly baseUrl: string;
  private readonly tokens: RoleTokens;
  private readonly timeoutMs: number;
  private readonly sender: HttpSender;

  constructor(options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.tokens = options.tokens ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sender = options.fetch ? fetchSender(options.fetch) : nodeHttpSender();
  }

  /** Closes idle connections. */
  close(): void {
    this.sender.close();
  }

  /** {@link request} for an endpoint that answers JSON: the decoded body as `T`. */
  async json<T>(
    role: Role,
    method: string,
    path: string,
    body?: unknown,
    options: Omit<RequestOptions, 'raw'> = {},
  ): Promise<T> {
    return (await this.request(role, method, path, body, options)) as T;
  }

  /** One request; resolves the decoded body, or `undefined` for 204. */
  async request(
    role: Role | undefined,
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<unknown> {
    const url = `${this.baseUrl}${options.raw ? '' : PREFIX}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = role ? (this.tokens[role] ?? this.tokens.default) : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const signals: AbortSignal[] = [];
    const timeout = options.timeoutMs ?? this.timeoutMs;
    if (timeout > 0) signals.push(AbortSignal.timeout(timeout + (options.waitSeconds ?? 0) * 1000));
    if (options.signal) signals.push(options.signal);
    let res: HttpAnswer;
    try {
      res = await this.sender.send(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // AbortSignal.any only when there are two: it is not free, and requests are per batch.
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
    } catch (err) {
      if (options.signal?.aborted)
        throw new CodeqError('ABORTED', `${method} ${path} aborted`, { cause: err });
      const reason = err instanceof Error ? (causeMessage(err) ?? codedMessage(err)) : String(err);
      throw new CodeqError('UNAVAILABLE', `cannot reach codeq at ${this.baseUrl}: ${reason}`, {
        cause: err,
        details: { url },
      });
    }
    if (res.status === 204) return undefined;
    const text = res.text;
    const decoded = decodeAnswer(text);
    if (res.status >= 200 && res.status < 300) return decoded;
    const { message, bodyCode } = errorOfAnswer(decoded, text || res.statusText);
    throw new CodeqError(errorCodeForStatus(res.status, message, bodyCode), message, {
      // The role says which token was sent (or missing): the CLI names the variable to set.
      details: { status: res.status, method, path, requestId: res.header('x-request-id'), role },
    });
  }
}

/**
 * fetch wraps socket errors ("fetch failed") and an abort wraps its reason (a timeout): the cause
 * says what really happened.
 */
function causeMessage(err: Error): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? codedMessage(cause) : undefined;
}

/** A socket error's message with its code (`ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1`). */
function codedMessage(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${err.message}` : err.message;
}
