/**
 * Engine views to the contract's JSON: epoch ms become RFC3339 UTC strings and empty optional
 * fields are omitted (codeQ's Go structs use `omitempty`). Tasks are written in ONE place,
 * {@link taskJson}, for the wire a request asks for ({@link taskWire}): codeQ's Task shape by
 * default, codeq's full view with `?view=full` (docs/api.md, "Compatibility with codeQ").
 */
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { CodeqConfig, PayloadFormat } from '../config.js';
import type { Artifact, ResultRecord, TaskHistory, TaskView } from '../contract/views.js';
import type { ArtifactOutSchema, ResultRecordSchema, TaskSchema } from '../contract/common.schema.js';
import { API_PREFIX } from './route-context.js';
import type { HistoryResponse } from '../contract/task.schema.js';
import type { EventJson } from '../contract/admin.schema.js';
import type { StoredTaskEvent } from '../events/task-event.schema.js';

/** Task JSON. */
export type TaskJson = Static<typeof TaskSchema>;
/** ResultRecord JSON. */
export type ResultJson = Static<typeof ResultRecordSchema>;
/** An artifact's JSON. */
type ArtifactJson = Static<typeof ArtifactOutSchema>;
/** History JSON. */
export type HistoryJson = Static<typeof HistoryResponse>;

// The tasks of one answer mostly share their times (claimed, enqueued or completed in the same
// millisecond), but a task's own fields differ (created, updated, lease): a small cache indexed by
// the low bits of the time keeps each of them, where one remembered value missed on every field.
const ISO_SLOTS = 64;
const isoKeys = new Float64Array(ISO_SLOTS).fill(Number.NaN);
const isoValues: string[] = new Array<string>(ISO_SLOTS).fill('');

/** RFC3339 UTC of an epoch-ms time. */
export function iso(ms: number): string {
  const slot = ms & (ISO_SLOTS - 1);
  if (isoKeys[slot] === ms) return isoValues[slot] as string;
  const text = new Date(ms).toISOString();
  isoKeys[slot] = ms;
  isoValues[slot] = text;
  return text;
}

/**
 * How one answer writes its tasks: codeQ's Task shape with the payload as configured, or codeq's full
 * view (`?view=full`).
 */
export interface TaskWire {
  /** `string`: the payload's JSON text (codeQ's wire); `object`: the JSON value. */
  payloadFormat: PayloadFormat;
  /**
   * codeq's full view: the payload as its JSON value (whatever `payloadFormat` says) plus `state`,
   * `runAt` and `idempotencyKey`, fields codeQ's Task lacks (strict clients such as codeQ's Java SDK
   * refuse them, so they are only sent when asked for).
   */
  full: boolean;
}

/**
 * The wire of one request: `?view=full` from its query, the payload form from the config. Every
 * route that answers tasks writes them with `taskJson(task, taskWire(request, config))`, so the
 * choice holds on every route alike.
 */
export function taskWire(request: FastifyRequest, config: Pick<CodeqConfig, 'payloadFormat'>): TaskWire {
  const query = request.query as { view?: unknown } | undefined;
  return { payloadFormat: config.payloadFormat, full: query?.view === 'full' };
}

/** codeQ's Task with codeQ's own wire (payload as JSON text), for callers without a request. */
export const CODEQ_WIRE: TaskWire = Object.freeze({ payloadFormat: 'string', full: false });

/** The Task JSON of a task view, written for `wire`. */
export function taskJson(task: TaskView, wire: TaskWire): TaskJson {
  const out: TaskJson = {
    id: task.id,
    command: task.command,
    payload:
      wire.full || wire.payloadFormat === 'object' ? task.payload : JSON.stringify(task.payload ?? null),
    priority: task.priority,
    status: task.status,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    createdAt: iso(task.createdAt),
    updatedAt: iso(task.updatedAt),
  };
  if (task.webhook) out.webhook = task.webhook;
  if (task.workerId) out.workerId = task.workerId;
  if (task.leaseUntil !== undefined) out.leaseUntil = iso(task.leaseUntil);
  if (task.error) out.error = task.error;
  // codeQ's Task has the trace context (set only when given); the rest is codeq's full view.
  if (task.traceParent) out.traceParent = task.traceParent;
  if (task.traceState) out.traceState = task.traceState;
  if (wire.full) {
    out.state = task.state;
    if (task.runAt !== undefined) out.runAt = iso(task.runAt);
    if (task.idempotencyKey) out.idempotencyKey = task.idempotencyKey;
    if (task.groupKey) out.groupKey = task.groupKey;
    if (task.progress !== undefined) {
      out.progress = task.progress;
      if (task.progressData !== undefined) out.progressData = task.progressData;
      if (task.progressAt !== undefined) out.progressAt = iso(task.progressAt);
    }
  }
  return out;
}

/** Writes many tasks for one wire (`tasks.map(tasksJson(wire))`). */
export function tasksJson(wire: TaskWire): (task: TaskView) => TaskJson {
  return (task) => taskJson(task, wire);
}

/** The ResultRecord JSON of a result. */
export function resultJson(result: ResultRecord): ResultJson {
  const out: ResultJson = {
    taskId: result.taskId,
    status: result.status,
    completedAt: iso(result.completedAt),
  };
  if (result.result !== undefined) out.result = result.result;
  if (result.error !== undefined) out.error = result.error;
  if (result.artifacts !== undefined)
    out.artifacts = result.artifacts.map((a) => artifactJson(result.taskId, a));
  return out;
}

/** An artifact's JSON: a stored one (it has a hash) gains the `href` that serves its content. */
function artifactJson(taskId: string, artifact: Artifact): ArtifactJson {
  if (artifact.sha256 === undefined) return artifact;
  return {
    ...artifact,
    href: `${API_PREFIX}/tasks/${taskId}/artifacts/${encodeURIComponent(artifact.name)}`,
  };
}

/** The history JSON: every event with its time, and the folded state with RFC3339 times. */
export function historyJson(history: TaskHistory): HistoryJson {
  const { state } = history;
  return {
    taskId: history.taskId,
    events: history.events.map((e) => ({
      seq: e.seq,
      time: iso(e.at),
      type: e.type,
      actor: e.actor,
      data: e.data,
    })),
    state: {
      status: state.status,
      attempts: state.attempts,
      maxAttempts: state.maxAttempts,
      version: state.version,
      ...(state.workerId ? { workerId: state.workerId } : {}),
      ...(state.leaseUntil !== undefined ? { leaseUntil: iso(state.leaseUntil) } : {}),
      ...(state.runAt !== undefined ? { runAt: iso(state.runAt) } : {}),
    },
  };
}

/** One event of the log as `GET /admin/events` and NATS `events.replay` write it. */
export function eventJson(e: StoredTaskEvent): Static<typeof EventJson> {
  return {
    seq: e.seq,
    type: e.type,
    taskId: e.taskId,
    command: e.command,
    time: iso(e.at),
    actor: e.actor,
    data: e.data,
  };
}
