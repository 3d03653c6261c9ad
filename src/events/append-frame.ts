/**
 * What one append puts on the wire: the request checked (so a bad one fails alone, before anything
 * is sent), its NATS headers written straight as bytes (the expected last subject sequence that
 * fences it, its event type, its deduplication id, a rollup) and its event encoded. Pure; the
 * publisher (event-publisher.ts) sends the frames and matches their acks.
 */
import { Empty, MsgHdrsImpl } from '@nats-io/nats-core';
import { CodeqError } from '../errors.js';
import { encodeEvent } from './event-codec.js';
import { TASK_EVENT_TYPES, type TaskEvent } from './task-event.schema.js';

/** One event to append. */
export interface AppendRequest {
  /** The task's subject, `${prefix}.${event.command}.${event.taskId}` (see `taskSubject`). */
  subject: string;
  /** The event to store. */
  event: TaskEvent;
  /** The task's current version (stream sequence of its last event), 0 for a new task. */
  expectedVersion: number;
  /** Deduplication id (`Nats-Msg-Id`): a repeat within the stream's duplicate window is not stored again. */
  msgId?: string;
  /** Publish as a subject rollup (`Nats-Rollup: sub`): the server drops the task's earlier events. */
  rollup?: boolean;
}

/** The bytes of one append: its headers in wire form and its encoded event. */
export interface AppendFrame {
  /** The NATS header block, `NATS/1.0` line to the closing blank line. */
  headers: Uint8Array;
  /** The encoded event (JSON). */
  data: Uint8Array;
}

/**
 * A headers object whose wire form is prepared by the publisher. The client encodes headers
 * synchronously inside `publish()`, so one instance is reused for every message: no Map, no
 * per-header validation, one string build per message.
 */
export class PreparedHeaders extends MsgHdrsImpl {
  /** The wire form `encode()` returns; set before each publish. */
  bytes: Uint8Array = Empty;
  override encode(): Uint8Array {
    return this.bytes;
  }
}

const KNOWN_TYPES = new Set<string>(TASK_EVENT_TYPES);
const HDR_START = 'NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: ';
const CRLF_RE = /[\r\n]/;

/** Headers of a create-if-absent publish (expected last subject sequence 0). */
export const CREATE_HEADERS: Uint8Array = Buffer.from(`${HDR_START}0\r\n\r\n`, 'utf8');

/**
 * Checks and encodes one request. Returns `INVALID_INPUT` instead of throwing, so a batch settles
 * the one bad item and sends the others.
 */
export function appendFrame(r: AppendRequest): AppendFrame | CodeqError {
  const { subject, event, expectedVersion, msgId } = r;
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    return invalid('expectedVersion must be a non-negative integer', { expectedVersion });
  }
  if (!event || !KNOWN_TYPES.has(event.type)) return invalid('unknown event type', { type: event?.type });
  // The reader refuses an event stored on another task's subject, so refuse to write one.
  if (typeof subject !== 'string' || !subject.endsWith(`.${event.command}.${event.taskId}`)) {
    return invalid('subject does not match the event command/taskId', { subject });
  }
  let hdr = `${HDR_START}${expectedVersion}\r\nCodeq-Event-Type: ${event.type}\r\n`;
  if (msgId !== undefined) {
    if (typeof msgId !== 'string' || msgId.length === 0 || CRLF_RE.test(msgId)) {
      return invalid('msgId must be a non-empty single-line string', {});
    }
    hdr += `Nats-Msg-Id: ${msgId}\r\n`;
  }
  if (r.rollup) hdr += 'Nats-Rollup: sub\r\n';
  let data: Uint8Array;
  try {
    data = encodeEvent(event);
  } catch (err) {
    return invalid(`event is not serialisable: ${(err as Error).message}`, {});
  }
  return { headers: Buffer.from(`${hdr}\r\n`, 'utf8'), data };
}

function invalid(message: string, details: Record<string, unknown>): CodeqError {
  return new CodeqError('INVALID_INPUT', message, { details });
}
