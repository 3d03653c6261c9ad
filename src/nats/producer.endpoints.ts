/**
 * The producer's writes over NATS: `tasks.enqueue` (one task, or `{"tasks":[…]}`) and
 * `tasks.cancel`, with the HTTP routes' policy (a producer), checks (`toEnqueueInput`) and answers.
 */
import Type from 'typebox';
import { enqueueBatch } from '../api/batch.routes.js';
import { READ_MESSAGES } from '../api/error-mapper.js';
import { taskJson } from '../api/task-json.js';
import { toEnqueueInput, traceOfHeaders } from '../api/tasks.routes.js';
import { TaskViewQueryFields } from '../contract/common.schema.js';
import { BatchCreateBody, CancelBody, CreateTaskBody } from '../contract/task.schema.js';
import type { NatsEndpointContext } from './nats-context.js';
import { addNatsEndpoint, bodyChecker, headerOf } from './nats-endpoint.js';
import { TaskIdField, taskIdOf } from './task-reads.endpoints.js';

/** One task: the HTTP create body plus `view`. */
const EnqueueOne = Type.Object(
  { ...CreateTaskBody.properties, ...TaskViewQueryFields },
  { additionalProperties: false },
);

/**
 * A batch: the HTTP batch body plus `view` and `allOrNothing` (HTTP's query flag): every item
 * answers on its own (`{"results":[…]}`), or, all or nothing, `{"tasks":[…]}`.
 */
const EnqueueBatch = Type.Object(
  {
    ...BatchCreateBody.properties,
    ...TaskViewQueryFields,
    allOrNothing: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Adds `tasks.enqueue` and `tasks.cancel`. */
export function addProducerEndpoints(ctx: NatsEndpointContext): void {
  const { engine, group, deps } = ctx;
  const one = bodyChecker(EnqueueOne);
  const batch = bodyChecker(EnqueueBatch);
  addNatsEndpoint(
    group,
    {
      subject: 'tasks.enqueue',
      policy: { kind: 'producer' },
      // Either shape: told apart by `tasks`, then checked against its own schema.
      body: Type.Object({}, { additionalProperties: true }),
      async handle({ body, principal, msg }) {
        const trace = traceOfHeaders({
          traceparent: headerOf(msg, 'traceparent'),
          tracestate: headerOf(msg, 'tracestate'),
        });
        if (!('tasks' in body)) {
          const task = one(body);
          return taskJson(await engine.enqueue(toEnqueueInput(task, principal, '', trace)), ctx.wire(task));
        }
        const items = batch(body);
        return enqueueBatch(engine, items.tasks, {
          principal,
          trace,
          allOrNothing: items.allOrNothing === true,
          wire: ctx.wire(items),
          log: ctx.logger,
        });
      },
    },
    deps,
  );
  addNatsEndpoint(
    group,
    {
      subject: 'tasks.cancel',
      policy: { kind: 'producer' },
      body: Type.Object(
        { taskId: TaskIdField, ...CancelBody.properties, ...TaskViewQueryFields },
        { additionalProperties: false },
      ),
      messages: READ_MESSAGES,
      async handle({ body, principal }) {
        const task = await engine.cancel({
          taskId: taskIdOf(body),
          actor: `${principal.role === 'admin' ? 'admin' : 'producer'}:${principal.subject}`,
          allowedCommands: principal.eventTypes,
          ...(body.reason === undefined ? {} : { reason: body.reason }),
        });
        return taskJson(task, ctx.wire(body));
      },
    },
    deps,
  );
}
