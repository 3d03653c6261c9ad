/**
 * The one way codeq POSTs a webhook. Outbound requests are dangerous on a server, so this sender
 * never follows redirects (a 3xx is a failure), gives every request one deadline (connect, send
 * and response together), reads at most a few KiB of a response (and then drops the socket),
 * resolves host names itself and connects only to an address that passed the URL policy, never
 * sends credentials from a URL, and bounds how many requests run at once.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { signatureHeaders } from './signing.js';
import { hostOf, portOf, refusalReason, webhookUrlProblem, type UrlPolicy } from './url-safety.js';

/** Most bytes of a response body that are read (the rest is discarded with the socket). */
const MAX_RESPONSE_BYTES = 8 * 1024;

/** Settings of an {@link HttpSender}. */
export interface HttpSenderOptions {
  /** Where requests may go. */
  policy: UrlPolicy;
  /** Whole-request deadline in ms (`webhookTimeoutSeconds` × 1000; default 10 000). */
  timeoutMs?: number;
  /** Requests in flight at most (`webhookMaxConcurrency`; default 16). */
  maxConcurrency?: number;
  /** `webhookHmacSecret`; empty = unsigned (default). */
  hmacSecret?: string;
}

/** What one POST came to. */
export type SendOutcome =
  /** The receiver answered 2xx. */
  | { ok: true; status: number; ms: number }
  /**
   * It did not. `refused` = the URL policy forbade the destination (permanent: do not retry);
   * otherwise `status` is the HTTP status when there was one.
   */
  | { ok: false; refused: boolean; status?: number; error: string; ms: number };

/** A POST of one webhook. */
export interface SendRequest {
  /** Callback URL. */
  url: string;
  /** JSON body (sent exactly as given, and signed as given). */
  body: string;
  /** Extra headers (delivery id, kind, attempt). */
  headers?: Record<string, string>;
}

/** POSTs signed JSON webhooks with the safety rules above. */
export class HttpSender {
  private readonly timeoutMs: number;
  private readonly max: number;
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly options: HttpSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.max = Math.max(1, options.maxConcurrency ?? 16);
  }

  /** Requests running now (for tests and diagnostics). */
  get inFlight(): number {
    return this.active;
  }

  /** Sends one webhook, waiting for a free slot first. Never throws. */
  async send(req: SendRequest): Promise<SendOutcome> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await this.post(req);
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  private post(req: SendRequest): Promise<SendOutcome> {
    const started = Date.now();
    const failed = (error: string, extra: { refused?: boolean; status?: number } = {}): SendOutcome => {
      const outcome: SendOutcome = {
        ok: false,
        refused: extra.refused ?? false,
        error,
        ms: Date.now() - started,
      };
      if (extra.status !== undefined) outcome.status = extra.status;
      return outcome;
    };
    // Task webhooks come back from the log, which is outside input too: the input rule again, so
    // a URL with credentials (node would send them as `Authorization: Basic`) never goes out.
    const problem = webhookUrlProblem(req.url);
    if (problem !== undefined) return Promise.resolve(failed(`refused: ${problem}`, { refused: true }));
    const url = new URL(req.url);
    const host = hostOf(url);
    const port = portOf(url);
    const policy = this.options.policy;
    // An IP literal is connected to directly (no lookup), so it is checked here.
    const literalReason = refusalReason(host, isIP(host) !== 0 ? [host] : [], policy, port);
    if (literalReason !== undefined)
      return Promise.resolve(failed(`refused: ${literalReason}`, { refused: true }));
    let refusal: string | undefined;
    const lookup: LookupFunction = (hostname, opts: LookupOptions, cb) => {
      dnsLookup(hostname, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return cb(err, '', 0);
        refusal = refusalReason(
          host,
          addresses.map((a) => a.address),
          policy,
          port,
        );
        if (refusal !== undefined) {
          return cb(Object.assign(new Error(`refused: ${refusal}`), { code: 'EREFUSED_POLICY' }), '', 0);
        }
        if (opts.all) return (cb as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        const first = addresses[0] as LookupAddress;
        cb(null, first.address, first.family);
      });
    };
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(req.body)),
      'user-agent': 'codeq-webhooks/1',
      ...req.headers,
      ...signatureHeaders(this.options.hmacSecret ?? '', req.body),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: SendOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const clientReq = send(
        url,
        { method: 'POST', headers, lookup, agent: false },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            // Enough: the body is not needed, and a huge one must not cost memory or time.
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          const done = (): void => {
            if (status >= 200 && status < 300) finish({ ok: true, status, ms: Date.now() - started });
            else if (status >= 300 && status < 400)
              finish(failed(`redirect ${status} not followed`, { status }));
            else finish(failed(`HTTP ${status}`, { status }));
          };
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        },
      );
      const timer = setTimeout(() => {
        clientReq.destroy();
        finish(failed(`timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      clientReq.on('error', (err: NodeJS.ErrnoException) => {
        if (refusal !== undefined) finish(failed(`refused: ${refusal}`, { refused: true }));
        else finish(failed(err.code ?? err.message));
      });
      clientReq.end(req.body);
    });
  }
}
