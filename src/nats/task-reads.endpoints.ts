/**
 * The task reads over NATS: `tasks.get`, `tasks.getResult` (long-poll) and `tasks.history`, with the HTTP routes' policy (any
 * authenticated caller), visibility rule (another command's task is an unknown one) and strings.
 */
import Type from 'typebox';
import { assertTaskVisible } from '../api/auth/auth.types.js';
import { READ_MESSAGES } from '../api/error-mapper.js';
import { historyJson, resultJson, taskJson } from '../api/task-json.js';
import { ResultQuery } from '../contract/task.schema.js';
import { TaskViewQueryFields } from '../contract/common.schema.js';
import { RESULT_WAIT_SECONDS_MAX, TASK_ID_PATTERN } from '../contract/limits.js';
import { CodeqError } from '../errors.js';
import type { NatsEndpointContext } from './nats-context.js';
import { addNatsEndpoint } from './nats-endpoint.js';

/**
 * A task id field. Any string up to 256 characters is read, and a malformed one answers as an
 * unknown task (HTTP's 404 `not found` for a malformed `:id`), not a 400.
 */
export const TaskIdField = Type.String({ minLength: 1, maxLength: 256 });

/** The task id of a body, or `NOT_FOUND` when it cannot name a task. */
export function taskIdOf(body: { taskId: string }): string {
  if (!TASK_ID_PATTERN.test(body.taskId)) throw new CodeqError('NOT_FOUND', 'not found');
  return body.taskId;
}

/** `{taskId, view?}`. */
const TaskIdBody = Type.Object(
  { taskId: TaskIdField, ...TaskViewQueryFields },
  { additionalProperties: false },
);

/** Adds `tasks.get`, `tasks.getResult` and `tasks.history`. */
export function addTaskReadEndpoints(ctx: NatsEndpointContext): void {
  const { engine, group, deps } = ctx;
  addNatsEndpoint(
    group,
    {
      subject: 'tasks.get',
      reads: true,
      policy: { kind: 'any' },
      body: TaskIdBody,
      messages: READ_MESSAGES,
      async handle({ body, principal }) {
        const task = await engine.getTask(taskIdOf(body));
        assertTaskVisible(principal, task);
        return taskJson(task, ctx.wire(body));
      },
    },
    deps,
  );
  addNatsEndpoint(
    group,
    {
      subject: 'tasks.getResult',
      reads: true,
      policy: { kind: 'any' },
      body: Type.Object({ taskId: TaskIdField, ...ResultQuery.properties }, { additionalProperties: false }),
      messages: READ_MESSAGES,
      async handle({ body, principal, signal }) {
        const taskId = taskIdOf(body);
        let { task, result } = await engine.getResult(taskId);
        // The command is checked before anyone waits on the task.
        assertTaskVisible(principal, task);
        const waitSeconds = Math.min(RESULT_WAIT_SECONDS_MAX, body.waitSeconds ?? 0);
        if (!result && waitSeconds > 0 && !signal.aborted)
          ({ task, result } = await engine.waitForResult(taskId, waitSeconds, signal));
        if (!result) throw new CodeqError('NOT_FOUND', 'no result yet');
        return { task: taskJson(task, ctx.wire(body)), result: resultJson(result) };
      },
    },
    deps,
  );
  addNatsEndpoint(
    group,
    {
      subject: 'tasks.history',
      reads: true,
      policy: { kind: 'any' },
      body: Type.Object({ taskId: TaskIdField }, { additionalProperties: false }),
      messages: READ_MESSAGES,
      async handle({ body, principal }) {
        const taskId = taskIdOf(body);
        // The command is checked before the log is read (history reads every event of the task).
        assertTaskVisible(principal, await engine.getTask(taskId));
        return historyJson(await engine.history(taskId));
      },
    },
    deps,
  );
}
