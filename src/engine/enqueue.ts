/**
 * Enqueue, one or many, in one pipelined append through the one write path. Every `enqueued`
 * event carries `Nats-Msg-Id: enq:<taskId>`, so a publish whose ack was lost is retried without
 * creating a second task. Idempotency keys are bound to their task id in a durable registry before
 * the append (24 h), so they hold past the log's duplicate window whatever happens to Redis, whose
 * index only answers repeats faster.
 */
import { randomUUID } from 'node:crypto';
import { ABSENT_SNAPSHOT } from '../actors/task.types.js';
import { CodeqError } from '../errors.js';
import type { EventPublisher } from '../events/event-publisher.js';
import type { IdempotencyRegistry } from '../events/idempotency-registry.js';
import type { StoredTaskEvent, TaskEventData } from '../events/task-event.schema.js';
import type { ProjectionStore } from '../projections/projection.store.js';
import { viewFromHash, viewOfRecord } from '../projections/task-record.js';
import { evolveTaskRecord } from '../projections/task-view.evolve.js';
import type { IntentHandler, IntentRequest } from './intent-handler.js';
import type { EngineSettings, EnqueueInput } from './engine.types.js';
import type { TaskView } from '../contract/views.js';
import { normaliseEnqueue } from './input-validation.js';

/** What the enqueue path needs from the engine. */
export interface EnqueueDeps {
  settings: EngineSettings;
  store: ProjectionStore;
  /** The one write path. */
  handler: IntentHandler;
  /** The durable binding of idempotency keys to task ids. */
  registry: IdempotencyRegistry;
  /** The lean publisher the registry binds keys through. */
  publisher: EventPublisher;
  /** How long binding keys may take, retries included, ms. */
  dependencyTimeoutMs: number;
}

type StoredEnqueued = StoredTaskEvent & { type: 'enqueued' };

/** The view of a task right after its `enqueued` event. */
export function viewOfEnqueued(event: StoredTaskEvent & { type: 'enqueued' }): TaskView {
  return viewOfRecord(event.taskId, event.command, evolveTaskRecord(undefined, event));
}

function idempotencyConflict(key: string): CodeqError {
  return new CodeqError('IDEMPOTENCY_CONFLICT', 'idempotency conflict', { details: { idempotencyKey: key } });
}

/** How one input of a keyed batch is answered. */
type Plan =
  /** Append a new `enqueued` event for this task id (a new task, or a bound key's unwritten task). */
  | { kind: 'write'; taskId: string }
  /** The key is bound to an existing task: answer with it. */
  | { kind: 'existing'; taskId: string; command: string }
  /** The same key appears earlier in the batch: answer as that input. */
  | { kind: 'repeat'; of: number };

/**
 * Validates every input, then resolves every idempotency key before anything is appended: a key
 * bound to another command refuses the whole request with nothing written (bindings this request
 * made are released). Keys are answered from the Redis index when it knows them, else bound in the
 * durable registry (see `idempotency-registry.ts`), so a lost Redis never creates a second task.
 * When the log takes some items but not others (NATS gone past the deadline), the error names,
 * item by item, what was written (`details.written`) and what was not (`details.failed`).
 */
export async function enqueueMany(inputs: readonly EnqueueInput[], deps: EnqueueDeps): Promise<TaskView[]> {
  const now = Date.now();
  const datas: TaskEventData<'enqueued'>[] = inputs.map((input) =>
    normaliseEnqueue(input, deps.settings, now),
  );
  const plans = await planKeys(inputs, datas, deps);
  const results: (TaskView | CodeqError | undefined)[] = new Array(inputs.length);
  await Promise.all(
    plans.map(async (plan, i) => {
      if (plan.kind !== 'existing') return;
      const found = await findTask(plan.taskId, plan.command, deps);
      // A bound task the log has never seen: its request died between binding and appending.
      // It is written now, under the bound id, from this request's input.
      if (found) results[i] = found;
      else plans[i] = { kind: 'write', taskId: plan.taskId };
    }),
  );

  const toWrite: number[] = [];
  const requests: IntentRequest[] = [];
  plans.forEach((plan, i) => {
    if (plan.kind !== 'write') return;
    toWrite.push(i);
    requests.push(enqueueRequest(inputs[i]!, datas[i]!, plan.taskId));
  });

  const written = await writeNew(requests, now, deps);
  for (let j = 0; j < toWrite.length; j++) {
    const i = toWrite[j]!;
    const w = written[j]!;
    if (w instanceof CodeqError) {
      // A bound key whose task another request wrote first (same id, so a version conflict).
      results[i] =
        w.code === 'VERSION_CONFLICT' && datas[i]!.idempotencyKey !== undefined
          ? ((await findTask(requests[j]!.taskId, inputs[i]!.command, deps).catch(asCodeqError)) ?? w)
          : w;
    } else if (w.command !== inputs[i]!.command) {
      results[i] = idempotencyConflict(datas[i]!.idempotencyKey ?? '');
    } else {
      results[i] = viewOfEnqueued(w);
    }
  }
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i]!;
    if (plan.kind === 'repeat') results[i] = results[plan.of];
  }
  const failed = results.flatMap((r, index) => (r instanceof CodeqError ? [{ index, error: r }] : []));
  if (failed.length > 0) throw partialFailure(results, failed);
  return results as TaskView[];
}

function asCodeqError(err: unknown): CodeqError {
  return err instanceof CodeqError ? err : new CodeqError('INTERNAL', String(err), { cause: err });
}

/**
 * The error of a batch some of whose items were not written: the first failure's code (so the
 * caller knows whether to retry), with every item's outcome in `details`.
 */
function partialFailure(
  results: readonly (TaskView | CodeqError | undefined)[],
  failed: readonly { index: number; error: CodeqError }[],
): CodeqError {
  const first = failed[0]!.error;
  if (results.length === 1) return first;
  const written = results.flatMap((r, index) =>
    r && !(r instanceof CodeqError) ? [{ index, id: r.id }] : [],
  );
  return new CodeqError(
    first.code,
    `${failed.length} of ${results.length} tasks were not enqueued (${first.message}); ${written.length} were: see details`,
    {
      cause: first,
      details: {
        ...(first.details?.dependency === undefined ? {} : { dependency: first.details.dependency }),
        written,
        failed: failed.map(({ index, error }) => ({ index, code: error.code, message: error.message })),
      },
    },
  );
}

/**
 * Decides for every input whether it is written, answered by an existing task or a repeat of an
 * earlier input. Throws `IDEMPOTENCY_CONFLICT` (with nothing written) when a key is bound, in the
 * batch, the index or the registry, to another command.
 */
async function planKeys(
  inputs: readonly EnqueueInput[],
  datas: readonly TaskEventData<'enqueued'>[],
  deps: EnqueueDeps,
): Promise<Plan[]> {
  const plans: Plan[] = new Array(inputs.length);
  const firstOfKey = new Map<string, number>();
  for (let i = 0; i < datas.length; i++) {
    const key = datas[i]!.idempotencyKey;
    const first = key === undefined ? undefined : firstOfKey.get(key);
    if (first !== undefined) {
      if (inputs[first]!.command !== inputs[i]!.command) throw idempotencyConflict(key!);
      plans[i] = { kind: 'repeat', of: first };
      continue;
    }
    if (key !== undefined) firstOfKey.set(key, i);
    plans[i] = { kind: 'write', taskId: randomUUID() };
  }
  if (firstOfKey.size === 0) return plans;

  // The Redis index answers keys it knows without a round trip to the registry.
  const keyed = [...firstOfKey.entries()];
  const known = await deps.store.idempotencyLookup(keyed.map(([key]) => key));
  const toBind: [string, number][] = [];
  keyed.forEach(([key, i], k) => {
    const hit = known[k];
    if (!hit) return toBind.push([key, i]);
    if (hit[1] !== inputs[i]!.command) throw idempotencyConflict(key);
    plans[i] = { kind: 'existing', taskId: hit[0], command: hit[1] };
  });
  if (toBind.length === 0) return plans;

  const outcomes = await deps.registry.bindMany(
    toBind.map(([key, i]) => ({
      key,
      taskId: (plans[i] as { taskId: string }).taskId,
      command: inputs[i]!.command,
    })),
    deps.publisher,
    deps.dependencyTimeoutMs,
  );
  let refusal: CodeqError | undefined;
  outcomes.forEach((binding, k) => {
    const [key, i] = toBind[k]!;
    if (binding instanceof CodeqError) return void (refusal ??= binding);
    if (binding.command !== inputs[i]!.command) return void (refusal ??= idempotencyConflict(key));
    // A binding made earlier whose task may or may not be in the log yet: answered from the log,
    // or written now under the bound id if its writer never appended it.
    if (!binding.created) plans[i] = { kind: 'existing', taskId: binding.taskId, command: binding.command };
  });
  if (refusal) {
    // Nothing was appended: give back the keys this request bound, so the error leaves no trace.
    await Promise.all(
      outcomes.map((binding, k) =>
        !(binding instanceof CodeqError) && binding.created
          ? deps.registry.release(toBind[k]![0], binding.revision).catch(() => undefined)
          : undefined,
      ),
    );
    throw refusal;
  }
  return plans;
}

/**
 * A task by id: from the projection, else from the log (Redis may have lost it; its events are
 * applied again on the way); undefined when the log has never seen it.
 */
async function findTask(taskId: string, command: string, deps: EnqueueDeps): Promise<TaskView | undefined> {
  const stored =
    (await deps.store.load(taskId, command)) ?? (await deps.handler.syncFromLog(command, taskId));
  return stored ? viewFromHash(stored.id, stored.command, stored.hash) : undefined;
}

/** The request that creates one task (decided on the absent state, appended at version 0). */
function enqueueRequest(input: EnqueueInput, data: TaskEventData<'enqueued'>, taskId: string): IntentRequest {
  return {
    taskId,
    intent: { type: 'enqueue', data },
    actor: input.actor ?? 'producer',
    target: { id: taskId, command: input.command, snapshot: ABSENT_SNAPSHOT },
    // A keyed task's id comes from its key's binding, so the id alone names the publish: a retry,
    // or two writers of one bound key, repeat it; a key freed by a cleanup gets a new id.
    msgId: `enq:${taskId}`,
  };
}

/**
 * Creates tasks through the one write path (which rides out an election up to the deadline, and
 * resolves a repeated msg id to the original event). Each item answers on its own.
 */
async function writeNew(
  requests: readonly IntentRequest[],
  now: number,
  deps: EnqueueDeps,
): Promise<(StoredEnqueued | CodeqError)[]> {
  if (requests.length === 0) return [];
  const outcomes = await deps.handler.handle(requests, { retries: 0, now });
  return outcomes.map((o) => (o.ok ? (o.event as StoredEnqueued) : o.error));
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
  const requests: IntentRequest[] = [];
  const index: number[] = [];
  inputs.forEach((input, i) => {
    try {
      if (input.idempotencyKey !== undefined)
        throw new CodeqError('INTERNAL', 'keyed inputs take enqueueMany');
      const data = normalised?.[i] ?? normaliseEnqueue(input, deps.settings, now);
      requests.push(enqueueRequest(input, data, randomUUID()));
      index.push(i);
    } catch (err) {
      answers[i] = asCodeqError(err);
    }
  });
  const written = await writeNew(requests, now, deps);
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
