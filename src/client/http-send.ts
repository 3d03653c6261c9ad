/**
 * One HTTP exchange of the client, two ways: Node's own `http`/`https` with a keep-alive agent (the
 * default), or any `fetch` (an injected one, for tests or other runtimes). The global `fetch`
 * (undici) reads every body through WHATWG streams: over codeq's batch endpoints (256 tasks per
 * claim, one result call per batch) it cost ~10 % of a worker's throughput (bench/http-lab.ts).
 */
import http from 'node:http';
import https from 'node:https';

/** What the client sends. */
export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  /** JSON text, or none. */
  body?: string | undefined;
  /** Aborts the exchange (timeout or the caller's signal). */
  signal?: AbortSignal | undefined;
}

/** What the client reads of an answer: the whole body, as text. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  /** The body ('' for none). */
  text: string;
  /** A response header, lower-case name. */
  header(name: string): string | undefined;
}

/** Sends one request; rejects when no answer came (refused, reset, aborted). */
export type HttpSend = (url: string, request: HttpRequest) => Promise<HttpAnswer>;

/** Idle keep-alive sockets close after this long, ms: below common server keep-alive timeouts (Node's 5 s). */
const IDLE_SOCKET_MS = 4000;

/**
 * A sender on `node:http`/`node:https`, with one keep-alive agent per protocol. Idle sockets do not
 * keep the process alive, and close before a server would close them under a new request.
 */
export function nodeHttpSend(): HttpSend {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  };
  return (url, request) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const options: http.RequestOptions = {
        method: request.method,
        headers: request.body === undefined ? request.headers : withLength(request.headers, request.body),
        agent: secure ? agents['https:'] : agents['http:'],
        ...(request.signal ? { signal: request.signal } : {}),
      };
      const req = (secure ? https : http).request(target, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        // A body cut short (the socket closed before its end) is no answer.
        res.on('close', () => {
          if (!res.complete) reject(new Error('connection closed before the whole answer arrived'));
        });
        res.on('end', () => {
          const text =
            chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          const headers = res.headers;
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            text,
            header: (name) => {
              const value = headers[name];
              return Array.isArray(value) ? value.join(', ') : value;
            },
          });
        });
      });
      req.on('error', reject);
      req.end(request.body);
    });
}

/** A sender on a `fetch` implementation. */
export function fetchSend(fetchImpl: typeof fetch): HttpSend {
  return async (url, request) => {
    const res = await fetchImpl(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
    const text = res.status === 204 ? '' : await res.text();
    return {
      status: res.status,
      statusText: res.statusText,
      text,
      header: (name) => res.headers.get(name) ?? undefined,
    };
  };
}

function withLength(headers: Record<string, string>, body: string): Record<string, string> {
  return { ...headers, 'content-length': String(Buffer.byteLength(body)) };
}
