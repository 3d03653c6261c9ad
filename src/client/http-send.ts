/**
 * One HTTP exchange of the client, two ways: Node's own `http`/`https` with a keep-alive agent (the
 * default), or any `fetch` (an injected one, for tests or other runtimes). The global `fetch`
 * (undici) reads every body through WHATWG streams, which over codeq's batch endpoints (256 tasks
 * per claim, one result call per batch) costs a worker throughput (the A/B is in
 * docs/benchmarks.md, "HTTP client on `node:http`").
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

/** Sends requests; `send` rejects when no answer came (refused, reset, aborted). */
export interface HttpSender {
  send(url: string, request: HttpRequest): Promise<HttpAnswer>;
  /** Closes idle connections (those in use finish first). */
  close(): void;
}

/** Idle keep-alive sockets close after this long, ms: below common server keep-alive timeouts (Node's 5 s). */
const IDLE_SOCKET_MS = 4000;

/**
 * A sender on `node:http`/`node:https`, with one keep-alive agent per protocol. Idle sockets do not
 * keep the process alive, and close before a server would close them under a new request. A
 * request that meets a kept-alive socket the server (or a proxy) had just closed, before any answer,
 * is sent once more on a new one: the server never read it.
 */
export function nodeHttpSender(): HttpSender {
  const agents = {
    http: new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    https: new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  };
  const attempt = (target: URL, request: HttpRequest, retry: boolean): Promise<HttpAnswer> =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const secure = target.protocol === 'https:';
      const options: http.RequestOptions = {
        method: request.method,
        headers: request.body === undefined ? request.headers : withLength(request.headers, request.body),
        agent: secure ? agents.https : agents.http,
        ...(request.signal ? { signal: request.signal } : {}),
      };
      let answered = false;
      const req = (secure ? https : http).request(target, options, (res) => {
        answered = true;
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
      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        if (retry && stale && !request.signal?.aborted) resolve(attempt(target, request, false));
        else reject(err);
      });
      req.end(request.body);
    });
  return {
    send: (url, request) => attempt(new URL(url), request, true),
    close: () => {
      // Only the idle ones: destroy() would cut requests still in flight too.
      for (const agent of [agents.http, agents.https]) {
        for (const sockets of Object.values(agent.freeSockets))
          for (const socket of sockets ?? []) socket.destroy();
      }
    },
  };
}

/** A sender on a `fetch` implementation (which owns its connections: `close` does nothing). */
export function fetchSender(fetchImpl: typeof fetch): HttpSender {
  const send = async (url: string, request: HttpRequest): Promise<HttpAnswer> => {
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
  return { send, close: () => undefined };
}

function withLength(headers: Record<string, string>, body: string): Record<string, string> {
  return { ...headers, 'content-length': String(Buffer.byteLength(body)) };
}
