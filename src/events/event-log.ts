/**
 * Reading the event log: one task's last event or full history, one event by sequence, and the
 * whole stream in batches (projection rebuild, CLI replay). Everything read is decoded and validated;
 * a message that is not a valid event of its own subject raises `CORRUPT_EVENT` naming its sequence.
 * Appends go through {@link EventPublisher} (the hot path), not through this class.
 */
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { Consumer, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { CodeqError } from '../errors.js';
import { decodeStoredEvent } from './event-codec.js';
import { pullRead } from './pull-reader.js';
import { DEFAULT_STREAM_NAME, openManager, toCodeqError } from './stream.js';
import { assertValidPrefix, commandFilter, DEFAULT_SUBJECT_PREFIX, taskSubject } from './subjects.js';
import type { StoredTaskEvent } from './task-event.schema.js';

/** Dependencies and settings of an {@link EventLog}. */
export interface EventLogOptions {
  /** Connection to nats-server. The log never closes it. */
  nc: NatsConnection;
  /** Name of the task stream. Default `CODEQ_TASKS`. */
  stream?: string;
  /** Subject prefix of task subjects. Default `codeq.task`. */
  subjectPrefix?: string;
  /** How long one fetch of a read waits for its messages, in milliseconds. Default 5000. */
  fetchTimeoutMs?: number;
}

/** Options of {@link EventLog.replay}. */
export interface ReplayOptions {
  /** First stream sequence to read. Default 1 (the whole stream). */
  fromSeq?: number;
  /** Events per batch handed to `onBatch`. Default 1000. */
  batchSize?: number;
  /**
   * Receives the events in stream order. The next batch is fetched while this one is handled, so at
   * most two batches are in memory; a rejection stops the replay and is rethrown.
   */
  onBatch: (events: StoredTaskEvent[]) => Promise<void>;
  /** Stops the replay between batches with `ABORTED`. */
  signal?: AbortSignal;
}

/** What a {@link EventLog.replay} read. */
export interface ReplaySummary {
  /** Number of events handed to `onBatch`. */
  events: number;
  /** Sequence of the last event read, or 0 when none. */
  lastSeq: number;
}

/** Reader of the task event stream. */
export class EventLog {
  readonly #nc: NatsConnection;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #fetchTimeoutMs: number;
  #jsm: Promise<JetStreamManager> | undefined;
  #js: JetStreamClient | undefined;

  constructor(options: EventLogOptions) {
    this.#nc = options.nc;
    this.#stream = options.stream ?? DEFAULT_STREAM_NAME;
    this.#prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
    assertValidPrefix(this.#prefix);
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
  }

  /** The stream this log reads. */
  get stream(): string {
    return this.#stream;
  }

  /** The task's last event (its current version), or `undefined` for an unknown task. One direct get. */
  async lastEvent(command: string, taskId: string): Promise<StoredTaskEvent | undefined> {
    const subject = taskSubject(this.#prefix, command, taskId);
    const msg = await this.lastMessageOn(subject);
    return msg ? decodeStoredEvent(msg.data, msg.seq, subject, this.#prefix) : undefined;
  }

  /**
   * The raw last message stored on a task's subject (its payload bytes, undecoded), or `undefined`
   * when the subject has none. One direct get; what a retried append compares its own encoded event
   * with to learn whether an earlier try landed.
   */
  async lastMessageOn(subject: string): Promise<{ seq: number; data: Uint8Array } | undefined> {
    const jsm = await this.#manager();
    let msg;
    try {
      msg = await jsm.direct.getMessage(this.#stream, { last_by_subj: subject });
    } catch (err) {
      throw toCodeqError(err, `last message of ${subject}`);
    }
    return msg ? { seq: msg.seq, data: msg.data } : undefined;
  }

  /** The event stored at stream sequence `seq`, or `undefined` when there is none (deleted, aged out). */
  async getBySeq(seq: number): Promise<StoredTaskEvent | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new CodeqError('INVALID_INPUT', 'seq must be a positive integer', { details: { seq } });
    }
    const jsm = await this.#manager();
    let msg;
    try {
      msg = await jsm.direct.getMessage(this.#stream, { seq });
    } catch (err) {
      throw toCodeqError(err, `event ${seq}`);
    }
    return msg ? decodeStoredEvent(msg.data, msg.seq, msg.subject, this.#prefix) : undefined;
  }

  /**
   * Every stored event of one task, in order (empty for an unknown task). Reads through a filtered
   * consumer: a few milliseconds, never for a hot path.
   */
  async history(command: string, taskId: string): Promise<StoredTaskEvent[]> {
    const subject = taskSubject(this.#prefix, command, taskId);
    const events: StoredTaskEvent[] = [];
    await this.#read(subject, 1, 256, async (batch) => {
      for (const e of batch) events.push(e);
    });
    return events;
  }

  /**
   * Reads the whole stream from `fromSeq` to its end as of the start of the call (events appended
   * meanwhile are not included), in batches of validated events.
   */
  async replay(options: ReplayOptions): Promise<ReplaySummary> {
    const fromSeq = options.fromSeq ?? 1;
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new CodeqError('INVALID_INPUT', 'fromSeq must be a positive integer', { details: { fromSeq } });
    }
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new CodeqError('INVALID_INPUT', 'batchSize must be a positive integer', {
        details: { batchSize },
      });
    }
    return this.#read(undefined, fromSeq, batchSize, options.onBatch, options.signal);
  }

  /**
   * One page of the stream for tools (CLI `events replay|tail`, admin API): up to `limit` events
   * from `fromSeq` or from the first event at or after `fromTime`. `nextSeq` continues the read.
   */
  async readPage(options: { fromSeq?: number; fromTime?: Date; limit: number; command?: string }): Promise<{
    events: StoredTaskEvent[];
    nextSeq: number;
  }> {
    const fromSeq = options.fromSeq ?? 1;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new CodeqError('INVALID_INPUT', 'fromSeq must be a positive integer', { details: { fromSeq } });
    }
    if (!Number.isSafeInteger(options.limit) || options.limit < 1 || options.limit > 10_000) {
      throw new CodeqError('INVALID_INPUT', 'limit must be an integer 1..10000', {
        details: { limit: options.limit },
      });
    }
    const js = await this.#client();
    let consumer: Consumer;
    try {
      consumer = await js.consumers.get(this.#stream, {
        ...(options.fromTime
          ? { opt_start_time: options.fromTime.toISOString() }
          : { opt_start_seq: fromSeq }),
        // One command's events only: the server skips the others. A single string is sent as
        // `filter_subject`, which servers before 2.10 understand (a list needs 2.10).
        ...(options.command === undefined
          ? {}
          : { filter_subjects: commandFilter(this.#prefix, options.command) }),
      });
    } catch (err) {
      throw toCodeqError(err, `read ${this.#stream}`);
    }
    const events: StoredTaskEvent[] = [];
    try {
      const pending = (await consumer.info(true)).num_pending;
      if (pending > 0) {
        const iter = await consumer.fetch({
          max_messages: Math.min(options.limit, pending),
          expires: this.#fetchTimeoutMs,
        });
        try {
          for await (const m of iter) {
            events.push(decodeStoredEvent(m.data, m.seq, m.subject, this.#prefix));
            if (events.length >= options.limit || m.info.pending === 0) break;
          }
        } finally {
          iter.stop();
        }
      }
    } catch (err) {
      throw toCodeqError(err, `read ${this.#stream}`);
    } finally {
      consumer.delete().catch(() => {});
    }
    const last = events[events.length - 1];
    const nextSeq = last ? last.seq + 1 : options.fromTime ? (await this.lastSeq()) + 1 : fromSeq;
    return { events, nextSeq };
  }

  /**
   * Calls `onEvent` for every event appended from now on, in order (an ordered consumer: ephemeral,
   * nothing acknowledged), until `signal` aborts; then the consumer is stopped and deleted, and the
   * promise resolves. A message that does not decode is skipped (a live view, not a replay).
   */
  async follow(onEvent: (event: StoredTaskEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const js = await this.#client();
    let consumer: Consumer;
    try {
      consumer = await js.consumers.get(this.#stream, { deliver_policy: DeliverPolicy.New });
    } catch (err) {
      throw toCodeqError(err, `follow ${this.#stream}`);
    }
    const messages = await consumer.consume();
    const stop = () => messages.stop();
    signal.addEventListener('abort', stop, { once: true });
    // Aborted while the consumer was being made: the listener above will never fire.
    if (signal.aborted) stop();
    try {
      for await (const m of messages) {
        let event: StoredTaskEvent | undefined;
        try {
          event = decodeStoredEvent(m.data, m.seq, m.subject, this.#prefix);
        } catch {
          continue;
        }
        onEvent(event);
      }
    } finally {
      signal.removeEventListener('abort', stop);
      messages.stop();
      await consumer.delete().catch(() => {});
    }
  }

  /** Sequence of the newest event in the stream (0 when empty). */
  async lastSeq(): Promise<number> {
    const jsm = await this.#manager();
    try {
      return (await jsm.streams.info(this.#stream)).state.last_seq;
    } catch (err) {
      throw toCodeqError(err, `info of stream ${this.#stream}`);
    }
  }

  /** Removes every event of one task (deletion requests). Returns how many were removed. */
  async purgeTask(command: string, taskId: string): Promise<number> {
    const subject = taskSubject(this.#prefix, command, taskId);
    const jsm = await this.#manager();
    try {
      return (await jsm.streams.purge(this.#stream, { filter: subject })).purged;
    } catch (err) {
      throw toCodeqError(err, `purge ${subject}`);
    }
  }

  /** Reads `[fromSeq, end]` (see {@link pullRead}), the end being what was pending at the start. */
  async #read(
    filter: string | undefined,
    fromSeq: number,
    batchSize: number,
    onBatch: (events: StoredTaskEvent[]) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<ReplaySummary> {
    return pullRead({
      nc: this.#nc,
      jsm: await this.#manager(),
      stream: this.#stream,
      prefix: this.#prefix,
      filter,
      fromSeq,
      batchSize,
      fetchTimeoutMs: this.#fetchTimeoutMs,
      onBatch,
      signal,
    });
  }

  #manager(): Promise<JetStreamManager> {
    this.#jsm ??= openManager(this.#nc);
    return this.#jsm;
  }

  async #client(): Promise<JetStreamClient> {
    this.#js ??= jetstream(this.#nc);
    return this.#js;
  }
}
