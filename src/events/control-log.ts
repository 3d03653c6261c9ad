/**
 * The control stream: operators' control events, in a stream of their own beside the task stream
 * (`<task stream>_CTL`), one subject per controlled thing: a queue's pause, resume and limits on
 * `codeq-ctl.<task stream>.queue.<command>`, a schedule's definition and ticks on
 * `codeq-ctl.<task stream>.schedule.<name>` (each kind is a {@link ControlKind}). Its own stream because a control must outlive the task stream's max age
 * (a queue paused a month ago is still paused), and because each control event carries the queue's
 * whole settings, so the last message of each subject is the current state: a rebuild reads one
 * message per controlled queue. Appends carry the subject's expected last sequence, so two
 * operators changing one queue at once cannot lose either change.
 */
import { DeliverPolicy, DiscardPolicy, jetstream, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { CodeqError, VersionConflictError } from '../errors.js';
import { validateControlEvent, type ControlEvent, type StoredControlEvent } from './control-event.schema.js';
import { apiErrCode, openManager, toCodeqError } from './stream.js';
import { assertValidCommand } from './subjects.js';

/** JetStream's "wrong last sequence" error code: the subject moved on since it was read. */
const WRONG_LAST_SEQUENCE = 10071;

/** Control events kept per subject (the oldest go first); the last one is always kept. */
export const CONTROL_HISTORY_PER_QUEUE = 10_000;

/** The control stream of a deployment: `<task stream>_CTL`. */
export function controlStreamName(taskStream: string): string {
  return `${taskStream}_CTL`;
}

/**
 * One kind of control event: its subject token (`queue`, `schedule`), how an event read back is
 * validated, and which key (queue, schedule name) an event belongs to.
 */
export interface ControlKind<E> {
  /** Subject token after the root: `codeq-ctl.<task stream>.<token>.<key>`. */
  token: string;
  /** Validates a decoded event (throws `CORRUPT_EVENT`). */
  validate: (value: unknown) => E;
  /** The key (subject's last token) of an event. */
  keyOf: (event: E) => string;
}

/** Queue controls (pause, resume, limits), keyed by command. */
export const QUEUE_CONTROLS: ControlKind<ControlEvent> = {
  token: 'queue',
  validate: validateControlEvent,
  keyOf: (event) => event.command,
};

/** Options of a {@link ControlLog}. */
export interface ControlLogOptions {
  /** The connection. */
  nc: NatsConnection;
  /** The task stream's name (the control stream and subjects derive from it). */
  taskStream: string;
  /** Replicas of the control stream; default 1 (use the task stream's). */
  replicas?: number | undefined;
  /** Longest wait for one request, ms; default 5000. */
  timeoutMs?: number | undefined;
}

/** Reads and appends control events. */
export class ControlLog {
  readonly stream: string;
  private readonly root: string;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;

  constructor(private readonly options: ControlLogOptions) {
    this.stream = controlStreamName(options.taskStream);
    this.root = `codeq-ctl.${options.taskStream}`;
  }

  /** The subject of one queue's control events. */
  queueSubject(command: string): string {
    return this.subjectOf(QUEUE_CONTROLS, command);
  }

  /** The subject of `key`'s events of one kind. */
  subjectOf<E>(kind: ControlKind<E>, key: string): string {
    assertValidCommand(key);
    return `${this.root}.${kind.token}.${key}`;
  }

  /** Creates the control stream, or brings its replicas to the wanted number. Idempotent. */
  async provision(): Promise<void> {
    const jsm = await this.manager();
    const wanted = {
      name: this.stream,
      subjects: [`${this.root}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: this.options.replicas ?? 1,
      max_msgs_per_subject: CONTROL_HISTORY_PER_QUEUE,
      discard: DiscardPolicy.Old,
      allow_direct: true,
    };
    try {
      try {
        const info = await jsm.streams.info(this.stream);
        if (info.config.num_replicas !== wanted.num_replicas) {
          await jsm.streams.update(this.stream, { ...info.config, num_replicas: wanted.num_replicas });
        }
      } catch (err) {
        if (apiErrCode(err) !== 10059) throw err;
        try {
          await jsm.streams.add(wanted);
        } catch (addErr) {
          // Another instance created it between our lookup and our create.
          if (apiErrCode(addErr) !== 10058) throw addErr;
        }
      }
    } catch (err) {
      throw toCodeqError(err, `provision control stream ${this.stream}`);
    }
  }

  /**
   * Appends `event` on its queue's subject if the subject's last sequence is still `expectedSeq`
   * (0: the queue has no control event yet); returns its sequence.
   *
   * @throws VersionConflictError when another control event landed first (load and decide again).
   */
  append(event: ControlEvent, expectedSeq: number): Promise<number> {
    return this.appendOf(QUEUE_CONTROLS, event, expectedSeq);
  }

  /** The last control event of a queue, or undefined when it never had one. */
  last(command: string): Promise<StoredControlEvent | undefined> {
    return this.lastOf(QUEUE_CONTROLS, command);
  }

  /** Every queue's last control event (its current settings), for a rebuild or a start. */
  lastOfEveryQueue(): Promise<StoredControlEvent[]> {
    return this.lastOfEvery(QUEUE_CONTROLS);
  }

  /** A queue's control events, oldest first (at most {@link CONTROL_HISTORY_PER_QUEUE}). */
  history(command: string, limit = 1000): Promise<StoredControlEvent[]> {
    return this.historyOf(QUEUE_CONTROLS, command, limit);
  }

  /**
   * Calls `onEvent` for every control event appended from now on (by any instance), until the
   * returned stop is called. Delivery gaps (a reconnect) are healed by the ordered consumer; a
   * caller that must not miss one also reads {@link lastOfEveryQueue} after starting the watch.
   */
  watch(onEvent: (event: StoredControlEvent) => void, onError: (err: unknown) => void): Promise<() => void> {
    return this.watchOf(QUEUE_CONTROLS, onEvent, onError);
  }

  /**
   * Appends `event` of `kind` on its key's subject if the subject's last sequence is still
   * `expectedSeq` (0: none yet); returns its sequence.
   *
   * @throws VersionConflictError when another event landed first (load and decide again).
   */
  async appendOf<E>(kind: ControlKind<E>, event: E, expectedSeq: number): Promise<number> {
    const js = this.client();
    const subject = this.subjectOf(kind, kind.keyOf(event));
    try {
      const ack = await js.publish(subject, JSON.stringify(event), {
        expect: { lastSubjectSequence: expectedSeq },
        timeout: this.options.timeoutMs ?? 5000,
      });
      return ack.seq;
    } catch (err) {
      if (apiErrCode(err) === WRONG_LAST_SEQUENCE) {
        throw new VersionConflictError(subject, expectedSeq, { cause: err });
      }
      throw toCodeqError(err, `append ${kind.token} event of ${kind.keyOf(event)}`);
    }
  }

  /** The last event of `key` of one kind, or undefined when it has none. */
  async lastOf<E>(kind: ControlKind<E>, key: string): Promise<(E & { seq: number }) | undefined> {
    const jsm = await this.manager();
    let msg;
    try {
      msg = await jsm.direct.getMessage(this.stream, { last_by_subj: this.subjectOf(kind, key) });
    } catch (err) {
      throw toCodeqError(err, `last ${kind.token} event of ${key}`);
    }
    return msg ? decode(kind, msg.data, msg.seq) : undefined;
  }

  /** The last event of every key of one kind (each key's current state). */
  async lastOfEvery<E>(kind: ControlKind<E>): Promise<(E & { seq: number })[]> {
    const jsm = await this.manager();
    const prefix = `${this.root}.${kind.token}.`;
    let subjects: string[];
    try {
      const info = await jsm.streams.info(this.stream, { subjects_filter: `${prefix}*` });
      subjects = Object.keys(info.state.subjects ?? {});
    } catch (err) {
      throw toCodeqError(err, `list ${kind.token} subjects of ${this.stream}`);
    }
    const out: (E & { seq: number })[] = [];
    for (let i = 0; i < subjects.length; i += 64) {
      const chunk = subjects.slice(i, i + 64).map((s) => this.lastOf(kind, s.slice(prefix.length)));
      for (const event of await Promise.all(chunk)) if (event) out.push(event);
    }
    return out;
  }

  /** The events of `key` of one kind, oldest first (the last `limit`). */
  async historyOf<E>(kind: ControlKind<E>, key: string, limit = 1000): Promise<(E & { seq: number })[]> {
    const subject = this.subjectOf(kind, key);
    const out: (E & { seq: number })[] = [];
    try {
      // Counted first, so each fetch asks for exactly what is there and never waits for its expiry.
      const info = await (await this.manager()).streams.info(this.stream, { subjects_filter: subject });
      let remaining = info.state.subjects?.[subject] ?? 0;
      if (remaining === 0) return out;
      const consumer = await this.client().consumers.get(this.stream, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.All,
      });
      while (remaining > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(256, remaining), expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          out.push(decode(kind, m.data, m.seq));
          remaining = m.info.pending;
        }
        if (got === 0) break;
      }
    } catch (err) {
      if (err instanceof CodeqError) throw err;
      throw toCodeqError(err, `${kind.token} history of ${key}`);
    }
    return out.slice(-limit);
  }

  /**
   * Calls `onEvent` for every event of one kind appended from now on (by any instance), until the
   * returned stop is called (an ordered consumer: gaps after a reconnect are healed).
   */
  async watchOf<E>(
    kind: ControlKind<E>,
    onEvent: (event: E & { seq: number }) => void,
    onError: (err: unknown) => void,
  ): Promise<() => void> {
    // nats-server 2.9 takes one filter subject per consumer.
    const consumer = await this.client().consumers.get(this.stream, {
      filter_subjects: `${this.root}.${kind.token}.*`,
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume({ max_messages: 64 });
    void (async () => {
      for await (const m of messages) {
        try {
          onEvent(decode(kind, m.data, m.seq));
        } catch (err) {
          onError(err);
        }
      }
    })().catch(onError);
    return () => void messages.close().catch(() => undefined);
  }

  /** Deletes the control stream (tests, and dropping a deployment). */
  async destroy(): Promise<void> {
    const jsm = await this.manager();
    await jsm.streams.delete(this.stream).catch((err: unknown) => {
      if (apiErrCode(err) !== 10059) throw err;
    });
  }

  private client(): JetStreamClient {
    this.js ??= jetstream(this.options.nc, { timeout: this.options.timeoutMs ?? 5000, checkAPI: false });
    return this.js;
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await openManager(this.options.nc);
    return this.jsm;
  }
}

function decode<E>(kind: ControlKind<E>, data: Uint8Array, seq: number): E & { seq: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    throw new CodeqError('CORRUPT_EVENT', `${kind.token} event ${seq} is not JSON`, { cause: err });
  }
  return { ...kind.validate(parsed), seq };
}
