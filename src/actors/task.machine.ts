/**
 * The task lifecycle: ONE xstate v5 machine, the only place where the lifecycle rules are written.
 *
 * The machine's events are the domain events themselves (past tense, as stored in the log), so a
 * task's history folds through it unchanged and a history it rejects is corrupt. It has no timers,
 * no `after` and no invoked actors: time enters only as each event's `at`, which keeps it pure and
 * restorable from a tiny snapshot.
 *
 * Guards and context updaters are plain named functions, exported through {@link TASK_GUARDS} and
 * {@link TASK_UPDATERS}: `setup()` below uses them, and the decider's fast path
 * (`task.transitions.ts`) reads the transition structure off this machine and calls the very same
 * functions, so no rule is written twice.
 */
import { and, assign, setup } from 'xstate';
import type { TaskEventData, TaskEventType } from '../events/task-event.schema.js';
import type { RejectionCode, TaskStatus } from './task.types.js';

/** What the machine folds events into: everything a decision needs besides the state itself. */
export interface TaskContext {
  /** Deliveries so far. */
  attempts: number;
  /** Deliveries allowed before a nack or lease expiry dead-letters the task. */
  maxAttempts: number;
  /** Lease holder while `inProgress`. */
  workerId?: string | undefined;
  /** Lease deadline while `inProgress`, epoch ms. */
  leaseUntil?: number | undefined;
  /** When a pending task becomes claimable, epoch ms (undefined: claimable now). */
  runAt?: number | undefined;
}

/**
 * An event as the machine sees it: a domain event's `type`, `at`, `actor` and `data`. Every
 * `TaskEvent` (and `StoredTaskEvent`) is one of these.
 */
export type TaskMachineEvent = {
  [T in TaskEventType]: {
    /** Event type (past tense). */
    type: T;
    /** When it happened, epoch ms: the machine's only notion of time. */
    at: number;
    /** Who caused it. */
    actor: string;
    /** Type-specific data. */
    data: TaskEventData<T>;
  };
}[TaskEventType];

/** Arguments xstate passes to guards and `assign` updaters (the part this machine uses). */
export interface TaskRuleArgs {
  /** The context before the event. */
  context: TaskContext;
  /** The event being applied. */
  event: TaskMachineEvent;
}

/** A named guard: a pure predicate on the context and the event. */
export type TaskGuard = (args: TaskRuleArgs) => boolean;

/** A named context updater: returns the context fields the event changes (merged like `assign`). */
export type TaskUpdater = (args: TaskRuleArgs) => Partial<TaskContext>;

function dataWorkerId(event: TaskMachineEvent): string | undefined {
  return 'workerId' in event.data ? event.data.workerId : undefined;
}

/** The machine's guards, by name. Each is used by `setup()` and by the fast transition table. */
export const TASK_GUARDS = {
  /** The event comes from the current lease holder. */
  isOwner: ({ context, event }) => context.workerId !== undefined && dataWorkerId(event) === context.workerId,
  /** The lease had not run out when the event happened (the deadline itself still counts). */
  leaseActive: ({ context, event }) => context.leaseUntil !== undefined && event.at <= context.leaseUntil,
  /** The lease had run out when the event happened (lease repair is allowed from the deadline on). */
  leaseExpiredAt: ({ context, event }) => context.leaseUntil !== undefined && event.at >= context.leaseUntil,
  /** Another delivery is allowed after this one. */
  attemptsLeft: ({ context }) => context.attempts < context.maxAttempts,
  /** No delivery is left: a retry dead-letters instead. */
  attemptsExhausted: ({ context }) => context.attempts >= context.maxAttempts,
  /** The pending task may be claimed now (no `runAt`, or it has passed). */
  isDue: ({ context, event }) => context.runAt === undefined || event.at >= context.runAt,
  /** A claim counts exactly one more delivery. */
  isNextAttempt: ({ context, event }) =>
    event.type === 'claimed' && event.data.attempts === context.attempts + 1,
  /** A rate-limited give-back un-counts exactly this delivery. */
  givesBackOne: ({ context, event }) =>
    event.type === 'rateLimited' && event.data.attempts === context.attempts - 1,
  /** A dead-lettering caused by the lease holder's nack. */
  causeIsNack: ({ event }) => event.type === 'dlq' && event.data.cause === 'nack',
  /** A dead-lettering caused by lease expiry. */
  causeIsLeaseExpiry: ({ event }) => event.type === 'dlq' && event.data.cause === 'leaseExpired',
  /** A dead-lettering the lease holder asked for (do not retry), whatever the attempts. */
  causeIsRejection: ({ event }) => event.type === 'dlq' && event.data.cause === 'rejected',
  /** A snapshot of a pending task. */
  snapshotPending: ({ event }) => event.type === 'snapshot' && event.data.status === 'pending',
  /** A snapshot of a leased task (which needs a holder and a deadline). */
  snapshotInProgress: ({ event }) =>
    event.type === 'snapshot' &&
    event.data.status === 'inProgress' &&
    event.data.workerId !== undefined &&
    event.data.leaseUntil !== undefined,
} satisfies Record<string, TaskGuard>;

/** Name of one of {@link TASK_GUARDS}. */
export type TaskGuardName = keyof typeof TASK_GUARDS;

/** The machine's context updaters, by name. Each is wrapped in `assign()` by `setup()`. */
export const TASK_UPDATERS = {
  /** A new task: no delivery yet, delayed until `runAt` if given. */
  applyEnqueued: ({ event }) =>
    event.type === 'enqueued'
      ? { attempts: 0, maxAttempts: event.data.maxAttempts, runAt: event.data.runAt }
      : {},
  /** A lease taken: count the delivery, record the holder and deadline; the task is no longer delayed. */
  applyClaimed: ({ event }) =>
    event.type === 'claimed'
      ? {
          attempts: event.data.attempts,
          workerId: event.data.workerId,
          leaseUntil: event.data.leaseUntil,
          runAt: undefined,
        }
      : {},
  /** A lease extended. */
  applyHeartbeat: ({ event }) => (event.type === 'heartbeat' ? { leaseUntil: event.data.leaseUntil } : {}),
  /** Back to pending for a retry at `runAt` (nack or lease expiry): the lease is gone. */
  scheduleRetry: ({ event }) =>
    event.type === 'nacked' || event.type === 'leaseExpired'
      ? { workerId: undefined, leaseUntil: undefined, runAt: event.data.runAt }
      : {},
  /** Back to pending until `runAt`, this delivery not counted (rate limited downstream). */
  giveBackDelivery: ({ event }) =>
    event.type === 'rateLimited'
      ? { attempts: event.data.attempts, workerId: undefined, leaseUntil: undefined, runAt: event.data.runAt }
      : {},
  /** Back to pending, claimable at once, attempts untouched. */
  releaseNow: () => ({ workerId: undefined, leaseUntil: undefined, runAt: undefined }),
  /** Leaving `inProgress` for good (result or DLQ): the lease is gone. */
  releaseLease: () => ({ workerId: undefined, leaseUntil: undefined }),
  /** An admin requeue: a fresh set of deliveries, claimable at once. */
  resetAttempts: () => ({ attempts: 0, workerId: undefined, leaseUntil: undefined, runAt: undefined }),
  /** A snapshot restores what a decision reads (after a rollup it is the task's first event). */
  restoreSnapshot: ({ event }) =>
    event.type === 'snapshot'
      ? {
          attempts: event.data.attempts,
          maxAttempts: event.data.maxAttempts,
          runAt: event.data.runAt,
          workerId: event.data.workerId,
          leaseUntil: event.data.leaseUntil,
        }
      : {},
  /** A result callback outcome (history only): nothing a decision reads changes. */
  noteWebhook: () => ({}),
  /** A progress report (history and view only): nothing a decision reads changes. */
  noteProgress: () => ({}),
} satisfies Record<string, TaskUpdater>;

/**
 * What a failed guard means to the caller, when it is a refusal rather than a mere selector. Guards
 * missing here (attempt counts, dlq cause) only pick between alternative events; the decider
 * offers both alternatives, so their failing never is the reason a command is refused.
 */
export const GUARD_REFUSALS: Partial<Record<TaskGuardName, { code: RejectionCode; message: string }>> = {
  isOwner: { code: 'NOT_OWNER', message: 'not owner' },
  leaseActive: { code: 'LEASE_EXPIRED', message: 'lease expired' },
  isDue: { code: 'WRONG_STATE', message: 'not due' },
  leaseExpiredAt: { code: 'WRONG_STATE', message: 'lease still active' },
  isNextAttempt: { code: 'WRONG_STATE', message: 'attempts out of sequence' },
};

/**
 * States whose refusal of an event they do not take says what happened to the task, rather than
 * which state would take it: the worker of a cancelled task must learn it was cancelled (and stop),
 * not merely that the task is no longer in progress.
 */
export const STATE_REFUSALS: Partial<Record<TaskStatus, { code: RejectionCode; message: string }>> = {
  cancelled: { code: 'TASK_CANCELLED', message: 'cancelled' },
};

/**
 * The refusal message when a state does not accept an event type at all, named after the state
 * that would accept it (codeQ's wording, e.g. `not-in-progress`).
 */
export const NOT_IN_STATE_MESSAGES: Record<string, string> = {
  absent: 'already exists',
  pending: 'not pending',
  inProgress: 'not-in-progress',
  deadLettered: 'not dead-lettered',
};

const OWNER_WITH_LEASE = and(['isOwner', 'leaseActive']);

/** Result callback outcomes a terminal state records without leaving it. */
const WEBHOOK_OUTCOMES = {
  webhookDelivered: { actions: 'noteWebhook' },
  webhookGaveUp: { actions: 'noteWebhook' },
} as const;

/** The task lifecycle machine. See the module comment; the fast path is derived from it at load. */
export const taskMachine = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskMachineEvent,
  },
  guards: TASK_GUARDS,
  actions: {
    applyEnqueued: assign(TASK_UPDATERS.applyEnqueued),
    applyClaimed: assign(TASK_UPDATERS.applyClaimed),
    applyHeartbeat: assign(TASK_UPDATERS.applyHeartbeat),
    scheduleRetry: assign(TASK_UPDATERS.scheduleRetry),
    releaseNow: assign(TASK_UPDATERS.releaseNow),
    giveBackDelivery: assign(TASK_UPDATERS.giveBackDelivery),
    releaseLease: assign(TASK_UPDATERS.releaseLease),
    resetAttempts: assign(TASK_UPDATERS.resetAttempts),
    noteWebhook: assign(TASK_UPDATERS.noteWebhook),
    noteProgress: assign(TASK_UPDATERS.noteProgress),
    restoreSnapshot: assign(TASK_UPDATERS.restoreSnapshot),
  },
}).createMachine({
  id: 'task',
  initial: 'absent',
  context: { attempts: 0, maxAttempts: 0 },
  states: {
    absent: {
      on: {
        enqueued: { target: 'pending', actions: 'applyEnqueued' },
        // After a rollup the snapshot is the first event a replay sees.
        snapshot: [
          { guard: 'snapshotPending', target: 'pending', actions: 'restoreSnapshot' },
          { guard: 'snapshotInProgress', target: 'inProgress', actions: 'restoreSnapshot' },
        ],
      },
    },
    pending: {
      on: {
        claimed: { guard: and(['isDue', 'isNextAttempt']), target: 'inProgress', actions: 'applyClaimed' },
        cancelled: { target: 'cancelled' },
        snapshot: { guard: 'snapshotPending', actions: 'restoreSnapshot' },
      },
    },
    inProgress: {
      on: {
        // Targetless: the lease moves, the state does not.
        heartbeat: { guard: OWNER_WITH_LEASE, actions: 'applyHeartbeat' },
        // Targetless, and nothing a decision reads changes: the report is history (and view) only.
        progressed: { guard: OWNER_WITH_LEASE, actions: 'noteProgress' },
        // Whoever may cancel may cancel a running task: its worker learns it at its next lease operation.
        cancelled: { target: 'cancelled', actions: 'releaseLease' },
        // Selector guards come first so a refusal names the owner/lease problem, not the count.
        nacked: {
          guard: and(['attemptsLeft', 'isOwner', 'leaseActive']),
          target: 'pending',
          actions: 'scheduleRetry',
        },
        abandoned: { guard: OWNER_WITH_LEASE, target: 'pending', actions: 'releaseNow' },
        // Not a failure: whatever the attempts, the delivery is given back and retried later.
        rateLimited: {
          guard: and(['isOwner', 'leaseActive', 'givesBackOne']),
          target: 'pending',
          actions: 'giveBackDelivery',
        },
        leaseExpired: {
          guard: and(['attemptsLeft', 'leaseExpiredAt']),
          target: 'pending',
          actions: 'scheduleRetry',
        },
        dlq: [
          {
            guard: and(['causeIsNack', 'attemptsExhausted', 'isOwner', 'leaseActive']),
            target: 'deadLettered',
            actions: 'releaseLease',
          },
          {
            guard: and(['causeIsLeaseExpiry', 'attemptsExhausted', 'leaseExpiredAt']),
            target: 'deadLettered',
            actions: 'releaseLease',
          },
          {
            guard: and(['causeIsRejection', 'isOwner', 'leaseActive']),
            target: 'deadLettered',
            actions: 'releaseLease',
          },
        ],
        completed: { guard: OWNER_WITH_LEASE, target: 'completed', actions: 'releaseLease' },
        failed: { guard: OWNER_WITH_LEASE, target: 'failed', actions: 'releaseLease' },
        snapshot: { guard: and(['snapshotInProgress', 'isOwner']), actions: 'restoreSnapshot' },
      },
    },
    // Terminal, yet not xstate `final`: a finished task still records its result callback's outcome
    // (targetless, history only). No other event leaves these states.
    completed: { on: WEBHOOK_OUTCOMES },
    failed: { on: WEBHOOK_OUTCOMES },
    // An admin may also requeue it, or delete it (the task is then gone: absent again).
    deadLettered: {
      on: {
        requeued: { target: 'pending', actions: 'resetAttempts' },
        deleted: { target: 'absent' },
        ...WEBHOOK_OUTCOMES,
      },
    },
    cancelled: { on: WEBHOOK_OUTCOMES },
  },
});
