/**
 * A read of a task's result that may wait for it (codeQ's `GET /tasks/:id/result?waitSeconds=N`):
 * answers at once when the result is there, the task is unknown, or no wait was asked; else waits
 * (see `result-waiters.ts`) until the result is recorded, the deadline, or the abort, and answers
 * with what the task then has.
 */
import type { ResultRecord, TaskView } from '../contract/views.js';
import type { ResultWake, ResultWaiters } from './result-waiters.js';

/** A task and its result, when it has one. */
export type TaskAndResult = { task: TaskView; result?: ResultRecord };

/**
 * Re-reads after another instance's ending arrived, ms after it: the event reaches this instance
 * as the log takes it, a moment before its writer has applied it to the projection.
 */
const REMOTE_REREADS_MS = [2, 10, 50, 200, 1000];

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** What {@link waitForResult} reads and waits with. */
export interface ResultWaitDeps {
  /** The task and its result now (throws `NOT_FOUND` for an unknown task). */
  read: (taskId: string) => Promise<TaskAndResult>;
  /** Brings the task's projection up to the log (an ending whose apply never came). */
  resync: (command: string, taskId: string) => Promise<unknown>;
  waiters: ResultWaiters;
}

/**
 * The task and its result, waiting up to `waitMs` for the result. Ends early (with what the task has
 * then) when `signal` aborts.
 */
export async function waitForResult(
  taskId: string,
  waitMs: number,
  deps: ResultWaitDeps,
  signal?: AbortSignal,
): Promise<TaskAndResult> {
  let answer = await deps.read(taskId);
  if (answer.result || waitMs <= 0 || signal?.aborted) return answer;
  const deadline = Date.now() + waitMs;
  const watch = deps.waiters.watch(answer.task.command, taskId);
  try {
    await watch.ready;
    // Anything recorded before the subscription was in place is seen here.
    answer = await deps.read(taskId);
    while (!answer.result && Date.now() < deadline) {
      const wake: ResultWake = await watch.next(deadline, signal);
      if (wake === 'aborted' || wake === 'timeout') break;
      answer = await deps.read(taskId);
      if (wake === 'remote' && !answer.result)
        answer = await rereadRemote(taskId, answer, deadline, deps, signal);
    }
  } finally {
    watch.close();
  }
  return answer.result || signal?.aborted ? answer : deps.read(taskId);
}

/** Re-reads a few times after another instance's ending, then resyncs the task from the log. */
async function rereadRemote(
  taskId: string,
  answer: TaskAndResult,
  deadline: number,
  deps: ResultWaitDeps,
  signal?: AbortSignal,
): Promise<TaskAndResult> {
  let last = answer;
  for (const ms of REMOTE_REREADS_MS) {
    if (Date.now() + ms >= deadline || signal?.aborted) return last;
    await sleep(ms, signal);
    last = await deps.read(taskId);
    if (last.result) return last;
  }
  await deps.resync(last.task.command, taskId);
  return deps.read(taskId);
}
