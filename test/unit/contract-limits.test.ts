/**
 * One contract: at every limit, the schemas HTTP validates with and the engine's own checks of
 * in-process calls accept the same last value and refuse the same first one.
 */
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import {
  ARTIFACTS_MAX,
  CLAIM_COMMANDS_MAX,
  CLAIM_COUNT_MAX,
  DELAY_SECONDS_MAX,
  ENQUEUE_BATCH_MAX,
  ERROR_MAX_LENGTH,
  LEASE_SECONDS_MAX,
  REASON_MAX_LENGTH,
  RESULT_BATCH_MAX,
  clampPriority,
} from '../../src/contract/limits.js';
import { MESSAGES } from '../../src/contract/messages.js';
import { BatchCreateBody, CancelBody, CreateTaskBody } from '../../src/contract/task.schema.js';
import {
  BatchResultsBody,
  ClaimBody,
  HeartbeatBody,
  ResultBody,
  resultBodyProblem,
} from '../../src/contract/worker.schema.js';
import {
  assertArtifacts,
  assertBatch,
  assertErrorText,
  assertNackDelay,
  assertReason,
  claimCommands,
  claimCount,
  leaseSeconds,
  normaliseEnqueue,
} from '../../src/engine/input-validation.js';

const settings = { maxAttemptsDefault: 5, maxPayloadBytes: 1_000_000 };
const enqueue = (extra: object) => () =>
  normaliseEnqueue({ command: 'c', payload: 1, ...extra }, settings, 0);
const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const artifacts = (n: number) => many(n, (i) => ({ name: `a${i}` }));

/** A limit: the schema check and the engine check of a value at `last` (fine) and `first` (refused). */
interface Limit {
  schema: TSchema;
  body: (value: number) => unknown;
  engine: (value: number) => () => unknown;
  last: number;
  first: number;
}

const LIMITS: Record<string, Limit> = {
  'batch create size': {
    schema: BatchCreateBody,
    body: (n) => ({ tasks: many(n, () => ({ command: 'c', payload: 1 })) }),
    engine: (n) => () =>
      assertBatch(
        many(n, () => ({})),
        ENQUEUE_BATCH_MAX,
        'tasks',
      ),
    last: ENQUEUE_BATCH_MAX,
    first: ENQUEUE_BATCH_MAX + 1,
  },
  'batch results size': {
    schema: BatchResultsBody,
    body: (n) => ({ results: many(n, (i) => ({ taskId: `t${i}`, status: 'COMPLETED', result: {} })) }),
    engine: (n) => () =>
      assertBatch(
        many(n, () => ({})),
        RESULT_BATCH_MAX,
        'results',
      ),
    last: RESULT_BATCH_MAX,
    first: RESULT_BATCH_MAX + 1,
  },
  'claim count': {
    schema: ClaimBody,
    body: (count) => ({ count }),
    engine: (count) => () => claimCount(count),
    last: CLAIM_COUNT_MAX,
    first: CLAIM_COUNT_MAX + 1,
  },
  'claim commands': {
    schema: ClaimBody,
    body: (n) => ({ commands: many(n, (i) => `c${i}`) }),
    engine: (n) => () => claimCommands(many(n, (i) => `c${i}`)),
    last: CLAIM_COMMANDS_MAX,
    first: CLAIM_COMMANDS_MAX + 1,
  },
  leaseSeconds: {
    schema: ClaimBody,
    body: (leaseSeconds) => ({ leaseSeconds }),
    engine: (v) => () => leaseSeconds(v, 'leaseSeconds', 300),
    last: LEASE_SECONDS_MAX,
    first: LEASE_SECONDS_MAX + 1,
  },
  extendSeconds: {
    schema: HeartbeatBody,
    body: (extendSeconds) => ({ extendSeconds }),
    engine: (v) => () => leaseSeconds(v, 'extendSeconds', 300),
    last: LEASE_SECONDS_MAX,
    first: LEASE_SECONDS_MAX + 1,
  },
  'enqueue delaySeconds': {
    schema: CreateTaskBody,
    body: (delaySeconds) => ({ command: 'c', payload: 1, delaySeconds }),
    engine: (delaySeconds) => enqueue({ delaySeconds }),
    last: DELAY_SECONDS_MAX,
    first: DELAY_SECONDS_MAX + 1,
  },
  'error length': {
    schema: ResultBody,
    body: (n) => ({ status: 'FAILED', error: 'x'.repeat(n) }),
    engine: (n) => () => assertErrorText('x'.repeat(n)),
    last: ERROR_MAX_LENGTH,
    first: ERROR_MAX_LENGTH + 1,
  },
  artifacts: {
    schema: ResultBody,
    body: (n) => ({ status: 'COMPLETED', result: {}, artifacts: artifacts(n) }),
    engine: (n) => () => assertArtifacts(artifacts(n)),
    last: ARTIFACTS_MAX,
    first: ARTIFACTS_MAX + 1,
  },
  'cancel reason': {
    schema: CancelBody,
    body: (n) => ({ reason: 'x'.repeat(n) }),
    engine: (n) => () => assertReason('x'.repeat(n)),
    last: REASON_MAX_LENGTH,
    first: REASON_MAX_LENGTH + 1,
  },
};

describe('the schemas and the engine agree on every limit', () => {
  it.each(Object.entries(LIMITS))('%s', (_name, limit) => {
    const check = Compile(limit.schema);
    expect(check.Check(limit.body(limit.last))).toBe(true);
    expect(limit.engine(limit.last)).not.toThrow();
    expect(check.Check(limit.body(limit.first))).toBe(false);
    expect(limit.engine(limit.first)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('rules written once', () => {
  it('clamps any integer priority to 0..9, in the engine as over HTTP', () => {
    expect([-3, 0, 4, 9, 12, 1e20].map(clampPriority)).toEqual([0, 0, 4, 9, 9, 9]);
    expect(normaliseEnqueue({ command: 'c', payload: 1, priority: 1e20 }, settings, 0).priority).toBe(9);
    expect(enqueue({ priority: 1.5 })).toThrow("invalid 'priority'");
  });

  it('refuses a bad enqueue delay with the contract message', () => {
    expect(enqueue({ delaySeconds: -1 })).toThrow(MESSAGES.delaySeconds);
    expect(enqueue({ delaySeconds: DELAY_SECONDS_MAX + 1 })).toThrow(MESSAGES.delaySeconds);
  });

  it('takes any nack delay >= 0 (the decider caps it) and refuses the rest', () => {
    expect(() => assertNackDelay(10 * DELAY_SECONDS_MAX)).not.toThrow();
    expect(() => assertNackDelay(-1)).toThrow(MESSAGES.delaySeconds);
    expect(() => assertNackDelay(0.5)).toThrow(MESSAGES.delaySeconds);
  });

  it('refuses a malformed artifact', () => {
    expect(() => assertArtifacts([{ name: '' }])).toThrow("invalid 'artifacts'");
    expect(() => assertArtifacts([{ name: 'a', colour: 'red' }])).toThrow("invalid 'artifacts'");
  });

  it.each([
    [{ status: 'COMPLETED' }, "'result' is required when status is COMPLETED"],
    [{ status: 'COMPLETED', result: [1] }, "'result' must be a JSON object"],
    [{ status: 'COMPLETED', result: null }, "'result' must be a JSON object"],
    [{ status: 'FAILED' }, "'error' is required when status is FAILED"],
    [{ status: 'FAILED', error: '' }, "'error' is required when status is FAILED"],
    [{ status: 'COMPLETED', result: {} }, undefined],
    [{ status: 'FAILED', error: 'boom' }, undefined],
  ])('result body %j: %s', (body, problem) => {
    expect(resultBodyProblem(body)).toBe(problem);
  });
});
