/**
 * Tasks as they come off the wire, made one shape. codeq answers the client's `?view=full` with the
 * payload as its JSON value; codeQ (the Go server), and codeq with the view not asked for, write it as
 * the payload's JSON text (`"payload":"{\"jobId\":\"j-1\"}"`, `payloadFormat: string`), which is
 * decoded here so callers always get the value.
 */
import type { TaskJson } from './http-client.types.js';

/** The query every task-returning call adds: codeq's full view (state, runAt, idempotencyKey). */
export const FULL_VIEW = 'view=full';

/**
 * The task with its payload as a JSON value. A full-view answer (it carries `state`) already has the
 * value; otherwise a string payload is the JSON text of the value and is decoded. A string that is
 * not JSON (a server with `payloadFormat: object` answering a string payload without the full view)
 * is kept as it is.
 */
export function decodeTask(json: TaskJson): TaskJson {
  if (json.state !== undefined || typeof json.payload !== 'string') return json;
  try {
    json.payload = JSON.parse(json.payload) as unknown;
  } catch {
    // Not JSON text: the payload is that string itself.
  }
  return json;
}

/** {@link decodeTask} over a list. */
export function decodeTasks(list: TaskJson[]): TaskJson[] {
  for (const task of list) decodeTask(task);
  return list;
}
