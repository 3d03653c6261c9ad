/**
 * Calls the codeq server with the stored bearer token. The API root is whatever precedes `/ui/` in
 * the page's path, so the dashboard works behind a proxy that serves codeq under a prefix.
 */
import { storedToken } from './session-store';

/** An answer other than 2xx: its status and the server's `error` message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server root of this page: `''` at `/ui/`, `/codeq` at `/codeq/ui/`. */
export function apiRoot(pathname: string = location.pathname): string {
  const at = pathname.lastIndexOf('/ui/');
  return at < 0 ? '' : pathname.slice(0, at);
}

/** Headers of every call: the bearer token (when signed in). */
export function authHeaders(token: string | undefined = storedToken()): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Query string of the defined, non-empty `params` (with the leading `?`, or `''`). */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** Options of one call. */
export interface CallOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  token?: string;
  signal?: AbortSignal;
}

/** Calls `path` (from the server root) and answers its JSON; throws {@link ApiError} on non-2xx. */
export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(options.token) };
  const init: RequestInit = { method, headers, cache: 'no-store' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body ?? {});
  }
  if (options.signal) init.signal = options.signal;
  const response = await fetch(`${apiRoot()}${path}`, init);
  const text = await response.text();
  const json: unknown = text === '' ? undefined : safeJson(text);
  if (!response.ok) {
    const message =
      typeof json === 'object' && json !== null && 'error' in json ? String(json.error) : response.statusText;
    throw new ApiError(response.status, message || `HTTP ${response.status}`);
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A message for a failed call: the status and what the server said. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.status}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
