/**
 * The decision fast path: a transition table read off {@link taskMachine} once, at module load.
 *
 * xstate's pure `transition()` restores a snapshot and runs its microstep machinery on every event,
 * too slow for every claim and ack (figures: docs/benchmarks.md, "Decision micro-benchmark"). The
 * machine here is flat and side-effect free, so one transition is just "the first candidate whose
 * guards all pass, then its `assign` updaters". This module walks the machine's state nodes,
 * records for each state and event type the ordered candidates (guard names, target, updater names)
 * and resolves the names through `machine.implementations`: the same guard and updater functions
 * `setup()` registered. No rule is restated here; anything the table cannot represent faithfully
 * (nested states, entry/exit actions, wildcards, non-`assign` actions, `or`/`not` guards) fails
 * loudly at load instead of silently diverging.
 */
import { and } from 'xstate';
import { TASK_EVENT_TYPES } from '../events/task-event.schema.js';
import type { TaskEventType } from '../events/task-event.schema.js';
import { GUARD_REFUSALS, NOT_IN_STATE_MESSAGES, STATE_REFUSALS, taskMachine } from './task.machine.js';
import type { TaskContext, TaskGuard, TaskGuardName, TaskMachineEvent, TaskUpdater } from './task.machine.js';
import type { RejectionCode, TaskStatus } from './task.types.js';

/** One candidate transition of a state for an event type, as compiled from the machine. */
export interface CompiledTransition {
  /** Guards in evaluation order (the `and([...])` order in the machine); all must pass. */
  guards: ReadonlyArray<{ name: TaskGuardName; check: TaskGuard }>;
  /** Target state, or `undefined` for a targetless transition (context changes only). */
  target: TaskStatus | undefined;
  /** Context updaters, applied in order like xstate's `assign` actions. */
  updaters: ReadonlyArray<{ name: string; update: TaskUpdater }>;
}

/** For each state and event type: the candidates, in the order xstate tries them. */
export type TransitionTable = Readonly<
  Record<TaskStatus, Readonly<Partial<Record<TaskEventType, readonly CompiledTransition[]>>>>
>;

/** The outcome of applying one event to a state and context. */
export type StepResult =
  | { ok: true; status: TaskStatus; context: TaskContext }
  | {
      ok: false;
      /** Why, in the decider's terms. */
      code: RejectionCode;
      /** Human-readable reason (codeQ wording where it had one). */
      message: string;
      /**
       * How telling the refusal is, to pick between alternative events: 2 a refusal guard failed,
       * 1 the state takes no such event, 0 only selector guards failed.
       */
      rank: 0 | 1 | 2;
    };

type GuardRef = unknown;
interface AndGuard {
  check: unknown;
  guards: readonly GuardRef[];
}

// The `check` function xstate attaches to every `and()` guard: how an `and` is recognised.
const AND_CHECK = (and([]) as unknown as AndGuard).check;

function isAndGuard(guard: GuardRef): guard is AndGuard {
  return typeof guard === 'function' && (guard as unknown as AndGuard).check === AND_CHECK;
}

function fail(what: string): never {
  throw new Error(`task machine cannot be compiled to a transition table: ${what}`);
}

function flattenGuard(guard: GuardRef, where: string): CompiledTransition['guards'] {
  if (guard === undefined) return [];
  if (isAndGuard(guard)) return guard.guards.flatMap((g) => flattenGuard(g, where));
  const name = typeof guard === 'string' ? guard : (guard as { type?: unknown; params?: unknown }).type;
  if (typeof name !== 'string' || (typeof guard === 'object' && 'params' in (guard as object))) {
    fail(`${where}: only named guards and and([...]) are supported`);
  }
  const impl = (taskMachine.implementations.guards as Record<string, unknown>)[name];
  if (isAndGuard(impl)) return flattenGuard(impl, where);
  if (typeof impl !== 'function' || 'check' in impl)
    fail(`${where}: guard '${name}' is not a plain predicate`);
  return [{ name: name as TaskGuardName, check: impl as TaskGuard }];
}

function resolveUpdater(action: unknown, where: string): CompiledTransition['updaters'][number] {
  const name = typeof action === 'string' ? action : (action as { type?: unknown }).type;
  if (typeof name !== 'string') fail(`${where}: only named actions are supported`);
  const impl = (taskMachine.implementations.actions as Record<string, unknown>)[name] as
    { type?: unknown; assignment?: unknown } | undefined;
  if (impl?.type !== 'xstate.assign' || typeof impl.assignment !== 'function') {
    fail(`${where}: action '${name}' is not assign(updaterFunction)`);
  }
  return { name, update: impl.assignment as TaskUpdater };
}

function compile(): { table: TransitionTable; acceptedIn: Record<TaskEventType, TaskStatus[]> } {
  const root = taskMachine.root;
  if (root.transitions.size > 0 || root.always?.length) fail('root-level transitions');
  if (root.entry.length || root.exit.length || root.invoke.length) fail('root-level actions or actors');
  if (taskMachine.config.initial !== 'absent') fail('initial state is not absent');
  const table: Record<string, Partial<Record<TaskEventType, CompiledTransition[]>>> = {};
  const acceptedIn = Object.fromEntries(TASK_EVENT_TYPES.map((t) => [t, []])) as unknown as Record<
    TaskEventType,
    TaskStatus[]
  >;
  for (const [key, node] of Object.entries(root.states)) {
    const status = key as TaskStatus;
    if (node.type !== 'atomic' && node.type !== 'final') fail(`state '${key}' is not atomic`);
    if (node.entry.length || node.exit.length || node.invoke.length || node.always?.length) {
      fail(`state '${key}' has entry/exit/invoke/always`);
    }
    const row: Partial<Record<TaskEventType, CompiledTransition[]>> = {};
    for (const [descriptor, transitions] of node.transitions) {
      if (!(TASK_EVENT_TYPES as string[]).includes(descriptor)) fail(`'${key}' handles '${descriptor}'`);
      const eventType = descriptor as TaskEventType;
      row[eventType] = transitions.map((t, i) => {
        const where = `${key}.on.${descriptor}[${i}]`;
        if (t.target && t.target.length !== 1) fail(`${where}: multiple targets`);
        const targetNode = t.target?.[0];
        if (targetNode && targetNode.parent !== root) fail(`${where}: nested target`);
        return {
          guards: flattenGuard(t.guard, where),
          target: targetNode ? (targetNode.key as TaskStatus) : undefined,
          updaters: t.actions.map((a) => resolveUpdater(a, where)),
        };
      });
      acceptedIn[eventType].push(status);
    }
    table[status] = row;
  }
  return { table: table as TransitionTable, acceptedIn };
}

const compiled = compile();

/** The transition table derived from {@link taskMachine} (exported for tests and introspection). */
export const TASK_TRANSITIONS: TransitionTable = compiled.table;

/**
 * Event types that always leave a task pending that was not: every state that takes the event is
 * another state and every transition it may take goes to `pending` (enqueued, nacked, abandoned,
 * leaseExpired, requeued). Claimers are woken after them. A snapshot is not among them: live it
 * changes no state, and only a rebuild's replay restores a pending task from one.
 */
export const ENTERS_PENDING: ReadonlySet<TaskEventType> = new Set(
  TASK_EVENT_TYPES.filter((type) => {
    const states = compiled.acceptedIn[type];
    return (
      states.length > 0 &&
      states.every(
        (s) => s !== 'pending' && (compiled.table[s][type] ?? []).every((t) => t.target === 'pending'),
      )
    );
  }),
);

const NOT_ACCEPTED_MESSAGE = Object.fromEntries(
  TASK_EVENT_TYPES.map((t) => {
    const states = compiled.acceptedIn[t];
    const message = states.map((s) => NOT_IN_STATE_MESSAGES[s] ?? `not ${s}`).join(' and ');
    return [t, message || 'never accepted'];
  }),
) as Record<TaskEventType, string>;

/**
 * Applies one event to a state and its context with the machine's rules: the first candidate whose
 * guards all pass wins and its updaters are merged into the context like `assign` does. Agrees
 * with xstate's `transition()` on {@link taskMachine} (property-tested), at a fraction of the cost.
 * Never throws and never mutates `context`.
 *
 * @param status - current state; `absent` refusals are reported as `NOT_FOUND`.
 * @param context - current context; a {@link import('./task.types.js').TaskSnapshot} will do.
 * @param event - the event (any `TaskEvent` or `StoredTaskEvent`).
 */
export function step(status: TaskStatus, context: TaskContext, event: TaskMachineEvent): StepResult {
  const candidates = TASK_TRANSITIONS[status][event.type];
  if (candidates === undefined) {
    if (status === 'absent') return { ok: false, code: 'NOT_FOUND', message: 'task not found', rank: 1 };
    const stateRefusal = STATE_REFUSALS[status];
    if (stateRefusal) return { ok: false, ...stateRefusal, rank: 1 };
    return { ok: false, code: 'WRONG_STATE', message: NOT_ACCEPTED_MESSAGE[event.type], rank: 1 };
  }
  const args = { context, event };
  let refusal: { code: RejectionCode; message: string } | undefined;
  candidates: for (const candidate of candidates) {
    for (const guard of candidate.guards) {
      if (!guard.check(args)) {
        refusal ??= GUARD_REFUSALS[guard.name];
        continue candidates;
      }
    }
    let next: TaskContext = context;
    for (const { update } of candidate.updaters) {
      next = Object.assign({}, next, update({ context: next, event }));
    }
    return { ok: true, status: candidate.target ?? status, context: next };
  }
  if (refusal) return { ok: false, code: refusal.code, message: refusal.message, rank: 2 };
  return { ok: false, code: 'WRONG_STATE', message: `'${event.type}' not allowed now`, rank: 0 };
}
