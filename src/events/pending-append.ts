/**
 * One append between the publisher's `append()`/`appendMany()` and its ack, and how it settles.
 * Kept apart from `event-publisher.ts` so the publisher reads as its send/ack/sweep loop.
 */
import { CodeqError } from '../errors.js';
import type { AppendAck } from './event-codec.js';
import type { AppendResult } from './event-publisher.js';

/** The shared state of one `appendMany` call: its results fill in as its items settle. */
export interface Batch {
  results: AppendResult[];
  remaining: number;
  resolve: (results: AppendResult[]) => void;
}

/** One append between `append()` and its ack. A class (not closures) keeps objects monomorphic. */
export class Pending {
  token = 0;
  deadline = 0;
  /** Settled while still queued (its call's deadline passed): the pump skips it. */
  dropped = false;
  constructor(
    /** The call's own deadline (performance.now() ms), or +Infinity for the publisher's default. */
    readonly callDeadline: number,
    readonly subject: string,
    readonly expectedVersion: number,
    readonly data: Uint8Array,
    readonly headers: Uint8Array,
    readonly batch: Batch | null,
    readonly index: number,
    readonly resolve: ((ack: AppendAck) => void) | null,
    readonly reject: ((err: CodeqError) => void) | null,
  ) {}
}

/** Records one item's result; resolves the batch with the last one. */
export function settleBatch(batch: Batch, index: number, result: AppendResult): void {
  batch.results[index] = result;
  if (--batch.remaining === 0) batch.resolve(batch.results);
}

/** Fails one append, alone or as an item of its batch. */
export function settleError(p: Pending, error: CodeqError): void {
  if (p.batch) settleBatch(p.batch, p.index, { ok: false, error });
  else p.reject!(error);
}

/** `TIMEOUT`: the outcome is unknown once the append was sent (it may still land). */
export function timeoutError(p: Pending, what: string): CodeqError {
  return new CodeqError('TIMEOUT', `the append on ${p.subject} ${what}`, {
    details: { subject: p.subject, sent: p.token !== 0 },
  });
}
