/**
 * Appends that ride out a leader election or a lost connection: an append whose outcome is unknown
 * (no ack in time, connection lost) or that the log refused "for now" (503 no responders while a
 * stream has no leader, JetStream temporarily unavailable) is sent again until a deadline, then
 * fails with a retryable `UNAVAILABLE`. Retrying is safe: an `enqueued` event carries a
 * `Nats-Msg-Id` (a repeat is acknowledged as a duplicate of the first), every other event the
 * expected last sequence of its subject (a repeat is refused). A refused repeat of an event whose
 * earlier try did land is recognised by reading the subject's last message: if it is exactly our
 * event, the append succeeded.
 */
import { CodeqError } from '../errors.js';
import { encodeEvent } from './event-codec.js';
import type { AppendOptions, AppendRequest, AppendResult } from './event-publisher.js';

/** What {@link appendWithRetry} needs: one try of a batch, and the read of a subject's last message. */
export interface RetryingAppendDeps {
  /** The publisher (one try per item, with a per-call timeout). */
  publisher: {
    appendMany(requests: readonly AppendRequest[], options?: AppendOptions): Promise<AppendResult[]>;
    /** True once closed: nothing is retried then. */
    readonly closed: boolean;
  };
  /** The raw last message of a subject (see `EventLog.lastMessageOn`). */
  lastMessageOn(subject: string): Promise<{ seq: number; data: Uint8Array } | undefined>;
}

/** Options of {@link appendWithRetry}. */
export interface RetryOptions {
  /** The longest the whole call takes, every try and wait included, in ms. */
  timeoutMs: number;
  /**
   * The longest one try waits for its acks, in ms (never past the whole call's deadline). Default a
   * third of `timeoutMs`, at most 2000: an ack normally takes milliseconds, and a try sent to a
   * leader that just died never gets one, so a shorter try leaves time to try the new leader.
   */
  attemptTimeoutMs?: number;
}

/** First pause between tries, ms; doubles per try up to {@link MAX_PAUSE_MS} (with jitter). */
const FIRST_PAUSE_MS = 25;
const MAX_PAUSE_MS = 500;
/** Upper bound of the default try timeout, ms. */
const MAX_DEFAULT_ATTEMPT_MS = 2000;

/** True for an error after which a try of the same append may still succeed. */
function retryable(error: CodeqError): boolean {
  return error.code === 'TIMEOUT' || error.code === 'UNAVAILABLE';
}

/**
 * Appends every request, each retried on its own until `timeoutMs` has passed. Never rejects; each
 * item's result comes back in input order: success (a recognised earlier try of a non-enqueue
 * event counts as success, `duplicate: false`), or the error that refused it for good
 * (`VERSION_CONFLICT`, `INVALID_INPUT`, …), or `UNAVAILABLE` (retryable; the outcome may be
 * unknown, see `details.outcomeUnknown`) once the deadline passed.
 */
export async function appendWithRetry(
  deps: RetryingAppendDeps,
  requests: readonly AppendRequest[],
  options: RetryOptions,
): Promise<AppendResult[]> {
  const timeoutMs = Math.max(1, options.timeoutMs);
  const attemptMs = Math.max(
    1,
    options.attemptTimeoutMs ?? Math.min(MAX_DEFAULT_ATTEMPT_MS, Math.ceil(timeoutMs / 3)),
  );
  const deadline = performance.now() + timeoutMs;
  const results = new Array<AppendResult>(requests.length);
  /** Items of which an earlier try may have landed (its outcome is unknown). */
  const maybeLanded = new Set<number>();
  let pending = requests.map((_, i) => i);
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - performance.now();
    const acks = await deps.publisher.appendMany(
      pending.map((i) => requests[i]!),
      { timeoutMs: Math.max(0, Math.min(attemptMs, remaining)) },
    );
    const again: number[] = [];
    const checks: Promise<void>[] = [];
    acks.forEach((ack, j) => {
      const i = pending[j]!;
      if (ack.ok) results[i] = ack;
      else if (ack.error.code === 'VERSION_CONFLICT' && maybeLanded.has(i)) {
        results[i] = ack;
        checks.push(
          landed(deps, requests[i]!, deadline).then((found) => {
            if (found === undefined) again.push(i);
            else if (found !== null) results[i] = found;
          }),
        );
      } else if (retryable(ack.error) && !deps.publisher.closed) {
        if (ack.error.code === 'TIMEOUT' && ack.error.details?.sent !== false) maybeLanded.add(i);
        again.push(i);
        results[i] = { ok: false, error: ack.error };
      } else results[i] = ack;
    });
    await Promise.all(checks);
    const pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    if (again.length === 0) return results;
    if (performance.now() + pause >= deadline || deps.publisher.closed) {
      for (const i of again)
        results[i] = giveUp(requests[i]!, results[i], timeoutMs, attempt, maybeLanded.has(i));
      return results;
    }
    await new Promise((r) => setTimeout(r, pause));
    pending = again.sort((a, b) => a - b);
  }
}

/**
 * Whether an earlier try of `request` is the subject's last message: its result when it is, `null`
 * when the subject's last message is another event (a real conflict), `undefined` when the read
 * failed or ran past the deadline (try the append again).
 */
async function landed(
  deps: RetryingAppendDeps,
  request: AppendRequest,
  deadline: number,
): Promise<AppendResult | null | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now()));
  });
  try {
    const last = await Promise.race([deps.lastMessageOn(request.subject), late]);
    // No message at all after "wrong last sequence" (or no answer in time): ask the log again.
    if (last === undefined) return undefined;
    const ours = Buffer.compare(Buffer.from(last.data), encodeEvent(request.event)) === 0;
    return ours ? { ok: true, seq: last.seq, duplicate: false } : null;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

function giveUp(
  request: AppendRequest,
  last: AppendResult | undefined,
  timeoutMs: number,
  attempts: number,
  outcomeUnknown: boolean,
): AppendResult {
  const cause = last && !last.ok ? last.error : undefined;
  return {
    ok: false,
    error: new CodeqError(
      'UNAVAILABLE',
      `the event log did not take the append on ${request.subject} within ${timeoutMs} ms ` +
        `(${attempts} tries${cause ? `; last: ${cause.message}` : ''})`,
      { cause, details: { subject: request.subject, timeoutMs, attempts, outcomeUnknown } },
    ),
  };
}
