/**
 * A claim call: validates the request, runs claim rounds, and between empty rounds waits (long
 * poll) for a wake-up, a due time, tasks handed straight to it at their enqueue (`hand-off.ts`),
 * its deadline or an abort.
 */
import { CodeqError } from '../errors.js';
import type { ClaimWaiters } from './claim-waiters.js';
import type { Claimer } from './claimer.js';
import type { ClaimInput, EngineObserver, EngineSettings } from './engine.types.js';
import type { TaskView } from '../contract/views.js';
import { assertWorkerId, claimCommands, claimCount, leaseSeconds } from './input-validation.js';

/** What a claim call works with (the engine's parts). */
export interface LongPollClaimDeps {
  /** Runs claim rounds and claims handed-off tasks. */
  claimer: Claimer;
  /** This process's waiting claimers. */
  waiters: ClaimWaiters;
  /** Default lease and longest wait. */
  settings: Pick<EngineSettings, 'defaultLeaseSeconds' | 'maxWaitSeconds'>;
  /** Told how long each claim waited and how it ended. */
  observer?: EngineObserver | undefined;
  /** True once the engine is closing: a claim answers with what it has. */
  isClosed: () => boolean;
}

/** Claims up to `input.count` tasks of `input.commands`, waiting up to `input.waitSeconds` for work. */
export async function longPollClaim(input: ClaimInput, deps: LongPollClaimDeps): Promise<TaskView[]> {
  assertWorkerId(input.workerId);
  const commands = claimCommands(input.commands);
  const count = claimCount(input.count);
  const leaseMs = leaseSeconds(input.leaseSeconds, 'leaseSeconds', deps.settings.defaultLeaseSeconds) * 1000;
  const waitRaw = input.waitSeconds ?? 0;
  // In-process callers may wait a fraction of a second; the JSON contract takes whole seconds.
  if (typeof waitRaw !== 'number' || !Number.isFinite(waitRaw) || waitRaw < 0) {
    throw new CodeqError('INVALID_INPUT', "invalid 'waitSeconds' (must be >= 0)");
  }
  const { claimer, waiters, observer } = deps;
  const started = Date.now();
  const deadline = started + Math.min(waitRaw, deps.settings.maxWaitSeconds) * 1000;
  for (;;) {
    const generation = waiters.generation(commands);
    const round = await claimer.round(commands, count, input.workerId, leaseMs);
    if (round.tasks.length > 0) {
      // More may be waiting behind these: hand the wake-up on to the next claimer.
      for (const c of new Set(round.tasks.map((t) => t.command))) waiters.wake(c);
    }
    if (round.tasks.length > 0 || Date.now() >= deadline || deps.isClosed() || input.signal?.aborted) {
      observer?.onClaimFinished?.(Date.now() - started, round.tasks.length);
      if (round.tasks.length > 0) observer?.onTasksClaimed?.(round.tasks, Date.now());
      return round.tasks;
    }
    if (waiters.generation(commands) !== generation) continue;
    const until = Math.min(deadline, round.nextAt ?? Number.POSITIVE_INFINITY);
    const outcome = await waiters.wait(commands, until, input.signal, count);
    if (outcome === 'aborted') {
      observer?.onClaimFinished?.(Date.now() - started, 0);
      return [];
    }
    if (typeof outcome === 'object') {
      // Tasks enqueued by this engine, reserved for this claim. A caller that left meanwhile gets
      // none: leasing them to nobody would hold them until the lease ran out.
      if (input.signal?.aborted || deps.isClosed()) {
        await claimer.release(outcome.handed).catch(() => undefined); // else they lapse
        observer?.onClaimFinished?.(Date.now() - started, 0);
        return [];
      }
      const tasks = await claimer.claimReserved(outcome.handed, input.workerId, leaseMs);
      if (tasks.length > 0) {
        observer?.onClaimFinished?.(Date.now() - started, tasks.length, true);
        observer?.onTasksClaimed?.(tasks, Date.now());
        return tasks;
      }
    }
  }
}
