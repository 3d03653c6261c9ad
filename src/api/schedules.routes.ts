/**
 * Schedule routes (`/admin/schedules`): define, list, read, change, delete, pause, resume and run
 * recurring tasks, and read a schedule's history. Admin only, as the other admin routes; an admin
 * limited to some commands sees and changes only the schedules of those commands.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { TaskSchema, TaskViewQueryFields } from '../contract/common.schema.js';
import { parseRfc3339 } from '../contract/rfc3339.js';
import type { ScheduleView, SchedulePatch } from '../contract/schedules.js';
import {
  END_AT_MESSAGE,
  ScheduleCreateBody,
  ScheduleEventJson,
  ScheduleHistoryQuery,
  ScheduleJsonSchema,
  ScheduleNameParams,
  SchedulePatchBody,
  SchedulePauseBody,
  START_AT_MESSAGE,
  type ScheduleJson,
} from '../contract/schedules.schema.js';
import { CodeqError } from '../errors.js';
import { allowsCommand, assertCommandAllowed } from './auth/auth.types.js';
import { createAuthHook, principalOf } from './auth/authenticator.js';
import { AUTH_ERRORS } from './common.schema.js';
import { ApiRefusal } from './error-mapper.js';
import type { RouteDeps } from './route-context.js';
import { iso, taskJson, taskWire } from './task-json.js';

/** The JSON of a schedule view (flat: its definition beside its state). */
export function scheduleJson(view: ScheduleView): ScheduleJson {
  const { spec } = view;
  const out: ScheduleJson = {
    name: view.name,
    command: spec.command,
    timezone: spec.timezone,
    payload: spec.payload,
    priority: spec.priority,
    jitterSeconds: spec.jitterSeconds,
    overlap: spec.overlap,
    catchUp: spec.catchUp,
    paused: view.paused,
    createdAt: iso(view.createdAt),
    updatedAt: iso(view.updatedAt),
    pendingRuns: view.runRequests.length,
    version: view.version,
  };
  if (spec.cron !== undefined) out.cron = spec.cron;
  if (spec.every !== undefined) out.every = spec.every;
  if (spec.maxAttempts !== undefined) out.maxAttempts = spec.maxAttempts;
  if (spec.startAt !== undefined) out.startAt = iso(spec.startAt);
  if (spec.endAt !== undefined) out.endAt = iso(spec.endAt);
  if (view.pauseReason !== undefined) out.pauseReason = view.pauseReason;
  if (view.nextRunAt !== undefined) out.nextRunAt = iso(view.nextRunAt);
  if (view.lastTickAt !== undefined) out.lastTickAt = iso(view.lastTickAt);
  if (view.lastRunAt !== undefined) out.lastRunAt = iso(view.lastRunAt);
  if (view.lastTaskId !== undefined) out.lastTaskId = view.lastTaskId;
  if (view.lastTaskStatus !== undefined) out.lastTaskStatus = view.lastTaskStatus;
  return out;
}

/** An RFC3339 field to epoch ms (`null` kept: it removes the field); 400 when malformed. */
function timeOf<T extends string | null | undefined>(value: T, message: string): number | Exclude<T, string> {
  if (typeof value !== 'string') return value as Exclude<T, string>;
  const ms = parseRfc3339(value);
  if (ms === undefined) throw new ApiRefusal(400, message);
  return ms;
}

const ERRORS = { ...AUTH_ERRORS, 404: Type.Object({ error: Type.String() }) };

/** Registers the schedule routes. */
export const scheduleRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { engine, auth, config } = deps;
  app.addHook('onRequest', createAuthHook(auth, { kind: 'admin' }));
  const actorOf = (request: Parameters<typeof principalOf>[0]) => `admin:${principalOf(request).subject}`;
  /** The schedule, if the caller may act on its command (else the same 404 as an unknown one). */
  const visible = async (request: Parameters<typeof principalOf>[0], name: string): Promise<ScheduleView> => {
    const view = await engine.schedules.get(name);
    if (!allowsCommand(principalOf(request), view.spec.command))
      throw new CodeqError('NOT_FOUND', 'schedule not found');
    return view;
  };

  app.post(
    '/admin/schedules',
    {
      schema: {
        summary: 'Define a schedule: a task enqueued on each cron or interval tick (codeq addition)',
        tags: ['schedules'],
        body: ScheduleCreateBody,
        response: { 201: ScheduleJsonSchema, ...ERRORS, 409: ERRORS[404] },
      },
    },
    async (request, reply) => {
      const { startAt, endAt, ...rest } = request.body;
      assertCommandAllowed(principalOf(request), rest.command);
      const view = await engine.schedules.define(
        { ...rest, startAt: timeOf(startAt, START_AT_MESSAGE), endAt: timeOf(endAt, END_AT_MESSAGE) },
        actorOf(request),
      );
      return reply.code(201).send(scheduleJson(view));
    },
  );

  app.get(
    '/admin/schedules',
    {
      schema: {
        summary: 'Every schedule, by name',
        tags: ['schedules'],
        response: { 200: Type.Object({ schedules: Type.Array(ScheduleJsonSchema) }), ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const all = (await engine.schedules.list()).filter((s) => allowsCommand(principal, s.spec.command));
      return reply.send({ schedules: all.map(scheduleJson) });
    },
  );

  app.get(
    '/admin/schedules/:name',
    {
      schema: {
        summary: 'One schedule: definition, next and last run, last task and its status',
        tags: ['schedules'],
        params: ScheduleNameParams,
        response: { 200: ScheduleJsonSchema, ...ERRORS },
      },
    },
    async (request, reply) => reply.send(scheduleJson(await visible(request, request.params.name))),
  );

  app.patch(
    '/admin/schedules/:name',
    {
      schema: {
        summary: 'Change a schedule (fields given are set, null removes startAt, endAt or maxAttempts)',
        tags: ['schedules'],
        params: ScheduleNameParams,
        body: SchedulePatchBody,
        response: { 200: ScheduleJsonSchema, ...ERRORS },
      },
    },
    async (request, reply) => {
      await visible(request, request.params.name);
      const { startAt, endAt, ...rest } = request.body;
      if (rest.command !== undefined) assertCommandAllowed(principalOf(request), rest.command);
      const patch: SchedulePatch = { ...rest };
      if (startAt !== undefined) patch.startAt = timeOf(startAt, START_AT_MESSAGE);
      if (endAt !== undefined) patch.endAt = timeOf(endAt, END_AT_MESSAGE);
      const view = await engine.schedules.update(request.params.name, patch, actorOf(request));
      return reply.send(scheduleJson(view));
    },
  );

  app.delete(
    '/admin/schedules/:name',
    {
      schema: {
        summary: 'Delete a schedule (its events stay in the log)',
        tags: ['schedules'],
        params: ScheduleNameParams,
        response: { 204: Type.Null(), ...ERRORS },
      },
    },
    async (request, reply) => {
      await visible(request, request.params.name);
      await engine.schedules.delete(request.params.name, actorOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/admin/schedules/:name/pause',
    {
      config: { optionalBody: true },
      schema: {
        summary: 'Pause a schedule: its ticks enqueue nothing until resumed (run-now still works)',
        tags: ['schedules'],
        params: ScheduleNameParams,
        body: SchedulePauseBody,
        response: { 200: ScheduleJsonSchema, ...ERRORS },
      },
    },
    async (request, reply) => {
      await visible(request, request.params.name);
      const view = await engine.schedules.pause(request.params.name, request.body.reason, actorOf(request));
      return reply.send(scheduleJson(view));
    },
  );

  app.post(
    '/admin/schedules/:name/resume',
    {
      config: { optionalBody: true },
      schema: {
        summary: 'Resume a schedule: ticks from now on (those that fell while paused are not owed)',
        tags: ['schedules'],
        params: ScheduleNameParams,
        response: { 200: ScheduleJsonSchema, ...ERRORS },
      },
    },
    async (request, reply) => {
      await visible(request, request.params.name);
      return reply.send(scheduleJson(await engine.schedules.resume(request.params.name, actorOf(request))));
    },
  );

  app.post(
    '/admin/schedules/:name/run',
    {
      config: { optionalBody: true },
      schema: {
        summary: "Enqueue one of the schedule's tasks now (whatever the calendar and overlap policy)",
        tags: ['schedules'],
        params: ScheduleNameParams,
        querystring: Type.Object(TaskViewQueryFields, { additionalProperties: false }),
        response: { 201: Type.Object({ schedule: ScheduleJsonSchema, task: TaskSchema }), ...ERRORS },
      },
    },
    async (request, reply) => {
      await visible(request, request.params.name);
      const { schedule, task } = await engine.schedules.runNow(request.params.name, actorOf(request));
      return reply
        .code(201)
        .send({ schedule: scheduleJson(schedule), task: taskJson(task, taskWire(request, config)) });
    },
  );

  app.get(
    '/admin/schedules/:name/history',
    {
      schema: {
        summary:
          "A schedule's events, oldest first: every definition change, run request and tick (a deleted one's too)",
        tags: ['schedules'],
        params: ScheduleNameParams,
        querystring: ScheduleHistoryQuery,
        response: { 200: Type.Object({ events: Type.Array(ScheduleEventJson) }), ...ERRORS },
      },
    },
    async (request, reply) => {
      const events = await engine.schedules.history(request.params.name, request.query.limit);
      // A deleted schedule's history stays readable (its tombstone still names the command).
      const last = events.at(-1);
      if (!last || !allowsCommand(principalOf(request), last.state.spec.command))
        throw new CodeqError('NOT_FOUND', 'schedule not found');
      return reply.send({
        events: events.map((e) => ({
          seq: e.seq,
          type: e.type,
          time: iso(e.at),
          actor: e.actor,
          data: e.data,
        })),
      });
    },
  );
};
