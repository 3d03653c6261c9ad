import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  ApiRefusal,
  LEASE_OP_MESSAGES,
  READ_MESSAGES,
  RESULT_MESSAGES,
  RETRY_AFTER_SECONDS,
  createErrorHandler,
  mapError,
} from '../../src/api/error-mapper.js';
import { errorCodeForStatus } from '../../src/client/http-request.js';
import { validationMessage } from '../../src/contract/validation-message.js';
import type { CodeqErrorCode } from '../../src/errors.js';
import { CodeqError, VersionConflictError } from '../../src/errors.js';

describe('mapError', () => {
  it.each<[CodeqErrorCode, number]>([
    ['INVALID_INPUT', 400],
    ['NOT_FOUND', 404],
    ['NOT_OWNER', 403],
    ['WRONG_STATE', 409],
    ['LEASE_EXPIRED', 409],
    ['IDEMPOTENCY_CONFLICT', 409],
    ['VERSION_CONFLICT', 409],
    ['UNAVAILABLE', 503],
    ['TIMEOUT', 503],
    ['CORRUPT_EVENT', 500],
    ['UNSUPPORTED', 500],
    ['ABORTED', 500],
    ['INTERNAL', 500],
  ])('maps %s to %i', (code, status) => {
    expect(mapError(new CodeqError(code, 'boom')).status).toBe(status);
  });

  it('keeps client messages, hides internal ones', () => {
    expect(mapError(new CodeqError('INVALID_INPUT', 'invalid command')).body).toEqual({
      error: 'invalid command',
    });
    expect(mapError(new CodeqError('INTERNAL', 'redis key codeq:x broke')).body).toEqual({
      error: 'internal error',
    });
    expect(mapError(new CodeqError('UNAVAILABLE', 'redis at 10.0.0.1 down')).body.error).not.toContain(
      '10.0.0.1',
    );
    expect(mapError(new Error('secret')).body).toEqual({ error: 'internal error' });
    expect(mapError(new VersionConflictError('s', 3)).status).toBe(409);
    expect(mapError(new CodeqError('IDEMPOTENCY_CONFLICT', 'x')).body.error).toBe('idempotency conflict');
  });

  it("uses the contract's strings per route", () => {
    const nf = new CodeqError('NOT_FOUND', 'task x not found');
    expect(mapError(nf, LEASE_OP_MESSAGES)).toEqual({ status: 404, body: { error: 'not-found' } });
    expect(mapError(nf, RESULT_MESSAGES)).toEqual({ status: 404, body: { error: 'task not found' } });
    expect(mapError(nf, READ_MESSAGES)).toEqual({ status: 404, body: { error: 'not found' } });
    expect(mapError(new CodeqError('NOT_OWNER', 'x'), LEASE_OP_MESSAGES)).toEqual({
      status: 403,
      body: { error: 'not-owner' },
    });
    expect(mapError(new CodeqError('WRONG_STATE', 'x'), LEASE_OP_MESSAGES).body.error).toBe(
      'not-in-progress',
    );
    expect(mapError(new CodeqError('LEASE_EXPIRED', 'x'), RESULT_MESSAGES)).toEqual({
      status: 409,
      body: { error: 'not-in-progress' },
    });
  });

  it('a cancelled task: 409 with the code TASK_CANCELLED, whatever the route overrides, and the client maps it back', () => {
    for (const overrides of [LEASE_OP_MESSAGES, RESULT_MESSAGES, {}]) {
      expect(mapError(new CodeqError('TASK_CANCELLED', 'cancelled'), overrides)).toEqual({
        status: 409,
        body: { error: 'cancelled', code: 'TASK_CANCELLED' },
      });
    }
    expect(errorCodeForStatus(409, 'cancelled', 'TASK_CANCELLED')).toBe('TASK_CANCELLED');
    expect(errorCodeForStatus(409, 'cancelled')).toBe('WRONG_STATE');
    expect(errorCodeForStatus(400, 'x', 'TASK_CANCELLED')).toBe('INVALID_INPUT');
  });

  it('answers route refusals and Fastify client errors as they are', () => {
    expect(mapError(new ApiRefusal(403, 'event type not allowed'))).toEqual({
      status: 403,
      body: { error: 'event type not allowed' },
    });
    const tooLarge = Object.assign(new Error('x'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(mapError(tooLarge)).toEqual({ status: 413, body: { error: 'request body too large' } });
    const badJson = Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 });
    expect(mapError(badJson).body.error).toBe('invalid body: malformed JSON');
  });
});

describe('dependency outages (UNAVAILABLE, TIMEOUT)', () => {
  it.each<[CodeqErrorCode, Record<string, unknown> | undefined, string]>([
    ['UNAVAILABLE', { dependency: 'redis' }, 'the projection store (Redis) could not be reached'],
    ['UNAVAILABLE', { dependency: 'nats' }, 'the event log (NATS) could not be reached'],
    ['TIMEOUT', { dependency: 'nats' }, 'the event log (NATS) did not answer in time'],
    ['UNAVAILABLE', undefined, 'a dependency could not be reached'],
    ['TIMEOUT', undefined, 'a dependency did not answer in time'],
  ])('maps %s (%o) to a retryable 503 that says so', (code, details, what) => {
    const err = new CodeqError(code, 'redis 10.0.0.1:6379 ECONNREFUSED', details ? { details } : {});
    expect(mapError(err)).toEqual({
      status: 503,
      body: { error: `service unavailable: ${what}, retry later` },
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  });

  it("says codeQ's `jwks fetch error` when the key set is out (test/local_flow.py retries on it)", () => {
    const err = new CodeqError('UNAVAILABLE', 'fetch failed', { details: { dependency: 'jwks' } });
    expect(mapError(err)).toEqual({
      status: 503,
      body: { error: 'jwks fetch error' },
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  });

  it('answers 503 with Retry-After in seconds and the {error} body', async () => {
    const app = Fastify();
    app.setErrorHandler(createErrorHandler());
    app.get('/x', async () => {
      throw new CodeqError('TIMEOUT', 'nats request timed out', { details: { dependency: 'nats' } });
    });
    const res = await app.inject({ method: 'GET', url: '/x' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(RETRY_AFTER_SECONDS).toBeGreaterThanOrEqual(1);
    expect(res.json()).toEqual({
      error: 'service unavailable: the event log (NATS) did not answer in time, retry later',
    });
    await app.close();
  });

  it('sets no Retry-After on client errors', async () => {
    expect(mapError(new CodeqError('NOT_FOUND', 'x')).retryAfterSeconds).toBeUndefined();
  });
});

describe('validationMessage', () => {
  const schema = { properties: { command: { 'x-error': 'invalid command' }, priority: {} } };
  it('names unknown and missing fields first', () => {
    expect(
      validationMessage(
        [
          { keyword: 'pattern', instancePath: '/command', params: {} },
          { keyword: 'additionalProperties', instancePath: '', params: { additionalProperties: ['colour'] } },
        ],
        'body',
        schema,
      ),
    ).toBe("invalid body: unknown field 'colour'");
    expect(
      validationMessage(
        [{ keyword: 'required', instancePath: '', params: { requiredProperties: ['payload'] } }],
        'body',
      ),
    ).toBe("invalid body: 'payload' is required");
    expect(
      validationMessage(
        [
          {
            keyword: 'additionalProperties',
            instancePath: '/tasks/2',
            params: { additionalProperties: ['x'] },
          },
        ],
        'body',
      ),
    ).toBe("invalid body: unknown field 'tasks[2].x'");
  });

  it("uses a field's contract string, else names the field", () => {
    expect(
      validationMessage([{ keyword: 'pattern', instancePath: '/command', params: {} }], 'body', schema),
    ).toBe('invalid command');
    expect(
      validationMessage(
        [{ keyword: 'type', instancePath: '/priority', params: {}, message: 'must be integer' }],
        'body',
        schema,
      ),
    ).toBe("invalid body: 'priority' must be integer");
    expect(
      validationMessage(
        [{ keyword: 'type', instancePath: '', params: {}, message: 'must be object' }],
        'body',
      ),
    ).toBe('invalid body: expected a JSON object');
    expect(
      validationMessage(
        [
          { keyword: 'const', instancePath: '/status', params: { allowedValue: 'a' } },
          { keyword: 'const', instancePath: '/status', params: { allowedValue: 'b' } },
          { keyword: 'anyOf', instancePath: '/status', params: {} },
        ],
        'querystring',
      ),
    ).toBe("invalid query: 'status' must be one of a, b");
  });
});

describe('a batch refused after a partial write', () => {
  it('says item by item what was written, with codes and no messages', () => {
    const err = new CodeqError(
      'UNAVAILABLE',
      '1 of 2 tasks were not enqueued (no ack from nats://10.0.0.1)',
      {
        details: {
          dependency: 'nats',
          written: [{ index: 0, id: 'a' }],
          failed: [{ index: 1, code: 'UNAVAILABLE', message: 'no ack from nats://10.0.0.1:4222' }],
        },
      },
    );
    const mapped = mapError(err);
    expect(mapped.status).toBe(503);
    expect(mapped.retryAfterSeconds).toBe(RETRY_AFTER_SECONDS);
    expect(mapped.body).toEqual({
      error: 'service unavailable: the event log (NATS) could not be reached, retry later',
      written: [{ index: 0, id: 'a' }],
      failed: [{ index: 1, code: 'UNAVAILABLE' }],
    });
  });

  it('other errors keep the plain body', () => {
    expect(mapError(new CodeqError('UNAVAILABLE', 'x')).body).toEqual({
      error: 'service unavailable: a dependency could not be reached, retry later',
    });
  });
});
