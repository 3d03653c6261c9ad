/**
 * Encoding of task events to message payloads and back. Payloads are UTF-8 JSON; everything read
 * back is validated (schema and subject) so a corrupt or foreign message never reaches a fold.
 */
import { CodeqError, VersionConflictError } from '../errors.js';
import { validateTaskEvent, type StoredTaskEvent, type TaskEvent } from './task-event.schema.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes an event as UTF-8 JSON. `Buffer.from` is the fastest UTF-8 encoder in Node for small strings. */
export function encodeEvent(event: TaskEvent): Uint8Array {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * Decodes and validates one stored event. Throws `CORRUPT_EVENT` naming the stream sequence when
 * the payload is not UTF-8 JSON or fails the schema, and, when `prefix` is given, when `subject` is
 * not the event's own `${prefix}.${command}.${taskId}` (a message published on the wrong task).
 *
 * @param data - the message payload
 * @param seq - its stream sequence (becomes `seq` of the result)
 * @param subject - the subject it was stored on
 * @param prefix - the stream's subject prefix; omit to skip the subject check
 */
export function decodeStoredEvent(
  data: Uint8Array,
  seq: number,
  subject: string,
  prefix?: string,
): StoredTaskEvent {
  let event: TaskEvent;
  try {
    event = validateTaskEvent(JSON.parse(decoder.decode(data)));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CodeqError('CORRUPT_EVENT', `corrupt event at stream sequence ${seq} (${subject}): ${why}`, {
      cause: err,
      details: { seq, subject },
    });
  }
  if (prefix !== undefined && subject !== `${prefix}.${event.command}.${event.taskId}`) {
    throw new CodeqError(
      'CORRUPT_EVENT',
      `corrupt event at stream sequence ${seq}: subject ${subject} does not match its command/taskId`,
      { details: { seq, subject } },
    );
  }
  // The object is fresh from JSON.parse: adding the field in place saves a copy per event on replay.
  const stored = event as StoredTaskEvent;
  stored.seq = seq;
  return stored;
}

/** JetStream API error code of a stale `Nats-Expected-Last-Subject-Sequence`. */
export const WRONG_LAST_SEQUENCE = 10071;

/** The log's answer to one successful append. */
export interface AppendAck {
  /** Stream sequence of the event: the task's new version. For a duplicate, the original's sequence. */
  seq: number;
  /** True when `msgId` was seen within the duplicate window and nothing new was stored. */
  duplicate: boolean;
}

interface ApiError {
  code?: number;
  err_code?: number;
  description?: string;
}

const ackDecoder = new TextDecoder();
const WRONG_LAST_RE = /wrong last sequence: (\d+)/;
/** JetStream API error codes of a cluster without a (meta or stream) leader at the moment. */
const NO_LEADER_ERR_CODES: ReadonlySet<number> = new Set([10008, 10009]);
/** Descriptions of refusals during a leader election or a lost quorum, whatever their code. */
const ELECTION_RE = /leader|quorum|temporarily unavailable|not available|offline/i;

/**
 * Maps a JetStream publish ack (`{stream, seq, duplicate?}` or `{error: {code, err_code,
 * description}}`) the way the stock client does: 10071 → {@link VersionConflictError} (with the
 * task's actual version in `details.actualVersion`); a refusal that passes with time (status 503,
 * no leader, lost quorum: see {@link isTransientApiError}) → `UNAVAILABLE`; other API errors →
 * `INTERNAL`; both with `details: {code, errCode}`. Returns the error rather than throwing (hot
 * path, no try per ack).
 */
export function decodeAck(
  data: Uint8Array,
  subject: string,
  expectedVersion: number,
): AppendAck | CodeqError {
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: ApiError };
  try {
    ack = JSON.parse(ackDecoder.decode(data));
  } catch {
    return new CodeqError('INTERNAL', `invalid ack to an append on ${subject}`);
  }
  const apiError = ack.error;
  if (apiError) {
    if (apiError.err_code === WRONG_LAST_SEQUENCE) {
      const actual = WRONG_LAST_RE.exec(apiError.description ?? '')?.[1];
      return new VersionConflictError(subject, expectedVersion, {
        details: { subject, actualVersion: actual === undefined ? undefined : Number(actual) },
      });
    }
    const description = apiError.description ?? 'JetStream API error';
    return new CodeqError(isTransientApiError(apiError) ? 'UNAVAILABLE' : 'INTERNAL', description, {
      details: { code: apiError.code, errCode: apiError.err_code },
    });
  }
  if (typeof ack.seq !== 'number' || !ack.stream) {
    return new CodeqError('INTERNAL', `invalid ack to an append on ${subject}`);
  }
  return { seq: ack.seq, duplicate: ack.duplicate === true };
}

/**
 * True for a JetStream refusal that says "not now" rather than "never": HTTP-like status 503
 * (JetStream temporarily unavailable, not enabled yet, a failed proposal), no cluster leader
 * (10008, 10009), or a description naming a leader election, a lost quorum or an offline stream.
 * The event was not stored; the same append may succeed once the cluster has a leader again.
 */
function isTransientApiError(error: { code?: number; err_code?: number; description?: string }): boolean {
  return (
    error.code === 503 ||
    (error.err_code !== undefined && NO_LEADER_ERR_CODES.has(error.err_code)) ||
    ELECTION_RE.test(error.description ?? '')
  );
}

/**
 * Maps a status reply (empty payload) to an append: 503 means no responders, i.e. no stream
 * captures the subject → `UNAVAILABLE`; anything else is unexpected → `INTERNAL`.
 */
export function statusError(code: number, subject: string): CodeqError {
  return code === 503
    ? new CodeqError('UNAVAILABLE', `no stream captures ${subject} (no responders)`, { details: { subject } })
    : new CodeqError('INTERNAL', `unexpected status ${code} to an append on ${subject}`, {
        details: { code },
      });
}
