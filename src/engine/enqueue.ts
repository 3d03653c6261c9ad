/**
 * Enqueue, one or many, in one pipelined append. Every `enqueued` event carries a `Nats-Msg-Id`
 * (the idempotency key when given, else the new task id), so a publish whose ack was lost is
 * retried without creating a second task; idempotency keys older than the log's duplicate window
 * are answered from the projection's index (24 h).
 */
import { randomUUID } from 'node:crypto';
import { decide } from '../actors/task.decider.js';
import { ABSENT_SNAPSHOT } from '../actors/task.types.js';
import { CodeqError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { StoredTaskEvent, TaskEvent, TaskEventData } from '../events/task-event.schema.js';
import type { ProjectionStore, StoredTask } from '../projections/projection.store.js';
import { viewFromHash } from '../projections/task-record.js';
import type { EngineSettings, EnqueueInput, TaskView } from './engine.types.js';
import { normaliseEnqueue } from './input-validation.js';
import type { TaskWriter, WriteItem } from './task-writer.js';

/** Tries of an append whose outcome is unknown (timeout, connection loss); safe thanks to the msg id. */
const APPEND_TRIES = 3;

/** What the enqueue path needs from the engine. */
export interface EnqueueDeps {
  settings: EngineSettings;
  store: ProjectionStore;
  writer: TaskWriter;
  log: EventLog;
  load: (taskId: string) => Promise<StoredTask>;
}

type StoredEnqueued = StoredTaskEvent & { type: 'enqueued' };

/** The view of a task right after its `enqueued` event. */
export function viewOfEnqueued(event: StoredTaskEvent & { type: 'enqueued' }): TaskView {
  const d = event.data;
  return {
    id: event.taskId,
    command: event.command,
    payload: d.payload,
    priority: d.priority,
    webhook: d.webhook,
    status: 'PENDING',
    state: 'pending',
    attempts: 0,
    maxAttempts: d.maxAttempts,
    runAt: d.runAt,
    idempotencyKey: d.idempotencyKey,
    createdAt: event.at,
    updatedAt: event.at,
    version: event.seq,
  };
}

function idempotencyConflict(key: string): CodeqError {
  return new CodeqError('IDEMPOTENCY_CONFLICT', 'idempotency conflict', { details: { idempotencyKey: key } });
}

/** Validates every input first (nothing is written if one is bad), then appends and applies. */
export async function enqueueMany(inputs: readonly EnqueueInput[], deps: EnqueueDeps): Promise<TaskView[]> {
  const now = Date.now();
  const datas: TaskEventData<'enqueued'>[] = inputs.map((input) =>
    normaliseEnqueue(input, deps.settings, now),
  );
  const results: (TaskView | undefined)[] = new Array(inputs.length);

  // Keys the projection already knows answer with their task; repeats inside the batch share one.
  const keys = datas.map((d) => d.idempotencyKey);
  const known = await deps.store.idempotencyLookup(keys.filter((k): k is string => k !== undefined));
  const knownByKey = new Map<string, [string, string]>();
  keys
    .filter((k): k is string => k !== undefined)
    .forEach((k, i) => {
      const hit = known[i];
      if (hit) knownByKey.set(k, hit);
    });
  const firstIndexOfKey = new Map<string, number>();
  const toWrite: number[] = [];
  for (let i = 0; i < datas.length; i++) {
    const key = keys[i];
    const command = inputs[i]!.command;
    if (key !== undefined) {
      const hit = knownByKey.get(key);
      if (hit) {
        if (hit[1] !== command) throw idempotencyConflict(key);
        continue;
      }
      const first = firstIndexOfKey.get(key);
      if (first !== undefined) {
        if (inputs[first]!.command !== command) throw idempotencyConflict(key);
        continue;
      }
      firstIndexOfKey.set(key, i);
    }
    toWrite.push(i);
  }

  const items: WriteItem[] = toWrite.map((i) => {
    const taskId = randomUUID();
    const data = datas[i]!;
    const decision = decide(
      ABSENT_SNAPSHOT,
      { type: 'enqueue', data },
      {
        taskId,
        command: inputs[i]!.command,
        actor: inputs[i]!.actor ?? 'producer',
        now,
        backoff: deps.settings.backoff,
      },
    );
    if (!decision.ok) throw new CodeqError('INTERNAL', `enqueue refused: ${decision.message}`);
    const msgId = data.idempotencyKey !== undefined ? `idem:${data.idempotencyKey}` : `enq:${taskId}`;
    return { event: decision.events[0] as TaskEvent, expectedVersion: 0, msgId };
  });

  const written = await writeWithRetries(items, deps);
  const failure = written.find((w): w is CodeqError => w instanceof CodeqError);
  if (failure) throw failure;
  for (let j = 0; j < toWrite.length; j++) {
    const stored = written[j] as StoredEnqueued;
    if (stored.command !== inputs[toWrite[j]!]!.command) {
      throw idempotencyConflict(datas[toWrite[j]!]!.idempotencyKey ?? '');
    }
    results[toWrite[j]!] = viewOfEnqueued(stored);
  }

  // Fill the answers of keys that were known or repeated.
  for (let i = 0; i < datas.length; i++) {
    if (results[i]) continue;
    const key = keys[i] as string;
    const first = firstIndexOfKey.get(key);
    if (first !== undefined && results[first]) {
      results[i] = results[first];
      continue;
    }
    const task = await deps.load(knownByKey.get(key)![0]);
    results[i] = viewFromHash(task.id, task.command, task.hash);
  }
  return results as TaskView[];
}

/**
 * Appends the items, retrying those whose outcome is unknown; a duplicate ack (same msg id seen
 * before: a retried publish or a concurrent request with the same idempotency key) resolves to the
 * original event, which is applied here too so the caller can read it at once.
 */
async function writeWithRetries(
  items: readonly WriteItem[],
  deps: EnqueueDeps,
): Promise<(StoredEnqueued | CodeqError)[]> {
  const out: (StoredEnqueued | CodeqError)[] = new Array(items.length);
  let pending = items.map((_, i) => i);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const outcomes = await deps.writer.write(pending.map((i) => items[i]!));
    const retry: number[] = [];
    const duplicates: [number, number][] = [];
    outcomes.forEach((outcome, j) => {
      const i = pending[j]!;
      if (outcome.ok && !outcome.duplicate) out[i] = outcome.event as StoredEnqueued;
      else if (outcome.ok) duplicates.push([i, outcome.event.seq]);
      else if (
        (outcome.error.code === 'TIMEOUT' || outcome.error.code === 'UNAVAILABLE') &&
        attempt < APPEND_TRIES
      )
        retry.push(i);
      // Each item answers on its own: one failure never becomes another caller's.
      else out[i] = outcome.error;
    });
    for (const [i, seq] of duplicates) {
      try {
        const original = await deps.log.getBySeq(seq);
        if (!original || original.type !== 'enqueued') {
          throw new CodeqError(
            'INTERNAL',
            `duplicate enqueue points at seq ${seq}, which is not an enqueued event`,
          );
        }
        await deps.store.apply([original]);
        out[i] = original;
      } catch (err) {
        out[i] = err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
      }
    }
    pending = retry;
    if (retry.length > 0) await new Promise((r) => setTimeout(r, 100 * attempt));
  }
  return out;
}

/**
 * Enqueues inputs without idempotency keys, each answering on its own (a view or the error that
 * refused it): what `Engine.enqueue` uses to coalesce concurrent single calls into one batch.
 */
export async function enqueueSettled(
  inputs: readonly EnqueueInput[],
  deps: EnqueueDeps,
  /** Already-normalised data per input (validated when the call was made), else normalised here. */
  normalised?: readonly TaskEventData<'enqueued'>[],
): Promise<(TaskView | CodeqError)[]> {
  const now = Date.now();
  const answers: (TaskView | CodeqError)[] = new Array(inputs.length);
  const items: WriteItem[] = [];
  const index: number[] = [];
  inputs.forEach((input, i) => {
    try {
      if (input.idempotencyKey !== undefined)
        throw new CodeqError('INTERNAL', 'keyed inputs take enqueueMany');
      const data = normalised?.[i] ?? normaliseEnqueue(input, deps.settings, now);
      const taskId = randomUUID();
      const decision = decide(
        ABSENT_SNAPSHOT,
        { type: 'enqueue', data },
        {
          taskId,
          command: input.command,
          actor: input.actor ?? 'producer',
          now,
          backoff: deps.settings.backoff,
        },
      );
      if (!decision.ok) throw new CodeqError('INTERNAL', `enqueue refused: ${decision.message}`);
      items.push({ event: decision.events[0] as TaskEvent, expectedVersion: 0, msgId: `enq:${taskId}` });
      index.push(i);
    } catch (err) {
      answers[i] = err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
    }
  });
  const written = items.length > 0 ? await writeWithRetries(items, deps) : [];
  written.forEach((w, k) => {
    answers[index[k]!] = w instanceof CodeqError ? w : viewOfEnqueued(w);
  });
  return answers;
}

/** Most single enqueues coalesced into one append batch. */
const MAX_COALESCED_ENQUEUES = 1000;

/**
 * Coalesces concurrent single enqueues (those made within one microtask turn) into one append
 * batch, each call still answering on its own. Inputs are validated before they join, so bad input
 * fails its own call alone.
 */
export class EnqueueCoalescer {
  private pending: {
    input: EnqueueInput;
    data: TaskEventData<'enqueued'>;
    resolve: (view: TaskView) => void;
    reject: (err: unknown) => void;
  }[] = [];

  constructor(private readonly deps: EnqueueDeps) {}

  /** Queues one input (without an idempotency key) for the current turn's batch. */
  add(input: EnqueueInput): Promise<TaskView> {
    const data = normaliseEnqueue(input, this.deps.settings, Date.now());
    return new Promise<TaskView>((resolve, reject) => {
      this.pending.push({ input, data, resolve, reject });
      if (this.pending.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const waiting = this.pending;
    this.pending = [];
    for (let i = 0; i < waiting.length; i += MAX_COALESCED_ENQUEUES) {
      const chunk = waiting.slice(i, i + MAX_COALESCED_ENQUEUES);
      enqueueSettled(
        chunk.map((w) => w.input),
        this.deps,
        chunk.map((w) => w.data),
      ).then(
        (answers) =>
          answers.forEach((answer, k) =>
            answer instanceof Error ? chunk[k]!.reject(answer) : chunk[k]!.resolve(answer),
          ),
        (err: unknown) => chunk.forEach((w) => w.reject(err)),
      );
    }
  }
}
