/**
 * The pure parts of codeQ compatibility (issue 14): the Task serializer's two shapes, the zero rule,
 * the lenient body reader, and codeq's own client reading either payload form, including a codeQ
 * server's answers (shapes from codeQ's pkg/domain/task.go: `Payload string`).
 */
import { describe, expect, it } from 'vitest';
import { CODEQ_WIRE, taskJson } from '../../src/api/task-json.js';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import { decodeTask } from '../../src/client/task-wire.js';
import type { TaskJson } from '../../src/client/http-client.types.js';
import { lenientBody } from '../../src/contract/lenient-body.js';
import { CLEANUP_LIMIT_DEFAULT, zeroAsDefault } from '../../src/contract/limits.js';
import { CreateTaskBody } from '../../src/contract/task.schema.js';
import { BatchResultsBody } from '../../src/contract/worker.schema.js';
import type { TaskView } from '../../src/contract/views.js';

const view: TaskView = {
  id: '6f1c2c1e-1111-4a4a-8b8b-000000000001',
  command: 'GEN',
  payload: { jobId: 'j-1' },
  priority: 3,
  status: 'PENDING',
  state: 'pending',
  attempts: 0,
  maxAttempts: 5,
  runAt: Date.UTC(2030, 0, 1),
  idempotencyKey: 'k-1',
  createdAt: Date.UTC(2026, 0, 1),
  updatedAt: Date.UTC(2026, 0, 1),
  version: 1,
};

describe('taskJson', () => {
  it("writes codeQ's Task: the payload's JSON text, no codeq fields", () => {
    const json = taskJson(view, CODEQ_WIRE);
    expect(json.payload).toBe('{"jobId":"j-1"}');
    expect(Object.keys(json).sort()).toEqual(
      [
        'attempts',
        'command',
        'createdAt',
        'id',
        'maxAttempts',
        'payload',
        'priority',
        'status',
        'updatedAt',
      ].sort(),
    );
    expect(taskJson({ ...view, payload: null }, CODEQ_WIRE).payload).toBe('null');
  });

  it('writes the value with payloadFormat object, and the full view with state, runAt, idempotencyKey', () => {
    expect(taskJson(view, { payloadFormat: 'object', full: false }).payload).toEqual({ jobId: 'j-1' });
    expect(taskJson(view, { payloadFormat: 'string', full: true })).toMatchObject({
      payload: { jobId: 'j-1' },
      state: 'pending',
      runAt: '2030-01-01T00:00:00.000Z',
      idempotencyKey: 'k-1',
    });
  });
});

describe('zeroAsDefault', () => {
  it('reads 0 and absent as the default, anything else as given', () => {
    expect(zeroAsDefault(0, CLEANUP_LIMIT_DEFAULT)).toBe(CLEANUP_LIMIT_DEFAULT);
    expect(zeroAsDefault(undefined, 300)).toBe(300);
    expect(zeroAsDefault(0, undefined)).toBeUndefined();
    expect(zeroAsDefault(5, 300)).toBe(5);
    expect(zeroAsDefault(-1, 300)).toBe(-1);
  });
});

describe('lenientBody', () => {
  it('drops unknown fields (naming them) and nulls of typed fields, keeping a null payload', () => {
    const body = { command: 'GEN', payload: null, webhook: null, tenantId: 't', priority: 2, x: { y: 1 } };
    const read = lenientBody(CreateTaskBody, body);
    expect(read).toEqual({
      value: { command: 'GEN', payload: null, priority: 2 },
      ignored: ['tenantId', 'x'],
    });
    // The input is not modified.
    expect(body.tenantId).toBe('t');
  });

  it('follows arrays into their items and leaves non-objects and wrong types to validation', () => {
    const read = lenientBody(BatchResultsBody, {
      results: [{ taskId: 'a', status: 'COMPLETED', result: { k: null }, colour: 1, error: null }],
    });
    expect(read.ignored).toEqual(['results[0].colour']);
    expect(read.value).toEqual({ results: [{ taskId: 'a', status: 'COMPLETED', result: { k: null } }] });
    expect(lenientBody(CreateTaskBody, [1, 2]).value).toEqual([1, 2]);
    expect(lenientBody(CreateTaskBody, { priority: '5' }).value).toEqual({ priority: '5' });
    expect(lenientBody(CreateTaskBody, JSON.parse('{"__proto__":{"polluted":1},"command":"C"}'))).toEqual({
      value: { command: 'C' },
      ignored: ['__proto__'],
    });
  });
});

describe("codeq's client reads both payload forms", () => {
  const task = (extra: Partial<TaskJson>): TaskJson =>
    ({
      id: 't',
      command: 'GEN',
      priority: 0,
      status: 'PENDING',
      attempts: 0,
      maxAttempts: 5,
      createdAt: '',
      updatedAt: '',
      ...extra,
    }) as TaskJson;

  it('decodes the JSON text of a codeQ answer; keeps a full-view value and a non-JSON string', () => {
    expect(decodeTask(task({ payload: '{"jobId":"j-1"}' })).payload).toEqual({ jobId: 'j-1' });
    expect(decodeTask(task({ payload: '"hello"' })).payload).toBe('hello');
    expect(decodeTask(task({ payload: 'not json' })).payload).toBe('not json');
    expect(decodeTask(task({ payload: '{"a":1}', state: 'pending' })).payload).toBe('{"a":1}');
  });

  it("gets the value from a codeQ server's answers (which ignore ?view=full)", async () => {
    const urls: string[] = [];
    // What codeQ's create/claim/get controllers write: c.JSON(status, task) of pkg/domain/task.go.
    const codeQ = {
      id: '6f1c2c1e-1111-4a4a-8b8b-000000000001',
      command: 'GEN',
      payload: '{"jobId":"j-1"}',
      status: 'IN_PROGRESS',
      workerId: 'worker-1',
      attempts: 1,
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    };
    const fakeFetch = (async (url: string | URL | Request) => {
      urls.push(String(url));
      return new Response(JSON.stringify(codeQ), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch;
    const client = new CodeqHttpClient({
      baseUrl: 'http://codeq.test',
      tokens: { default: 't' },
      fetch: fakeFetch,
    });
    expect((await client.getTask(codeQ.id)).payload).toEqual({ jobId: 'j-1' });
    expect((await client.claim({ commands: ['GEN'] }))[0]!.payload).toEqual({ jobId: 'j-1' });
    expect((await client.createTask({ command: 'GEN', payload: { jobId: 'j-1' } })).payload).toEqual({
      jobId: 'j-1',
    });
    expect(urls.every((u) => u.includes('view=full'))).toBe(true);
  });
});
