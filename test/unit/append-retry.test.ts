import { describe, expect, it } from 'vitest';
import { CodeqError, VersionConflictError } from '../../src/errors.js';
import { appendWithRetry, type RetryingAppendDeps } from '../../src/events/append-retry.js';
import { decodeAck, encodeEvent } from '../../src/events/event-codec.js';
import type { AppendOptions, AppendRequest, AppendResult } from '../../src/events/event-publisher.js';
import type { TaskEvent } from '../../src/events/task-event.schema.js';

const SUBJECT = 'p.cmd.t1';

function heartbeat(at = 1000): TaskEvent {
  return {
    v: 1,
    type: 'heartbeat',
    taskId: 't1',
    command: 'cmd',
    at,
    actor: 'w1',
    data: { workerId: 'w1', leaseUntil: at + 30_000 },
  } as TaskEvent;
}

const request = (event = heartbeat()): AppendRequest => ({ subject: SUBJECT, event, expectedVersion: 7 });
const fail = (error: CodeqError): AppendResult => ({ ok: false, error });
const timeout = (): AppendResult =>
  fail(new CodeqError('TIMEOUT', 'no ack', { details: { subject: SUBJECT, sent: true } }));
const noResponders = (): AppendResult => fail(new CodeqError('UNAVAILABLE', 'no responders'));
const conflict = (): AppendResult => fail(new VersionConflictError(SUBJECT, 7));

/**
 * A publisher that answers each item from a script (in order, the last answer repeating); a TIMEOUT
 * answer waits the try's timeout first, like the real one. Records every try's timeout.
 */
function scripted(answers: (() => AppendResult)[], closed = false) {
  const tries: number[] = [];
  const deps: RetryingAppendDeps & { reads: number } = {
    reads: 0,
    publisher: {
      closed,
      async appendMany(requests: readonly AppendRequest[], options?: AppendOptions) {
        tries.push(options?.timeoutMs ?? Number.NaN);
        const out = requests.map(() => (answers.length > 1 ? answers.shift()! : answers[0]!)());
        if (out.some((r) => !r.ok && r.error.code === 'TIMEOUT')) {
          await new Promise((r) => setTimeout(r, options?.timeoutMs ?? 0));
        }
        return out;
      },
    },
    lastMessageOn: async () => undefined,
  };
  return { deps, tries };
}

describe('appendWithRetry', () => {
  it('retries a refusal during a leader election (503 no responders) until the log takes it', async () => {
    const { deps, tries } = scripted([
      noResponders,
      noResponders,
      () => ({ ok: true, seq: 8, duplicate: false }),
    ]);
    const [result] = await appendWithRetry(deps, [request()], { timeoutMs: 2000 });
    expect(result).toEqual({ ok: true, seq: 8, duplicate: false });
    expect(tries).toHaveLength(3);
  });

  it('counts a refused repeat as success when the earlier try landed: the last message is our event', async () => {
    const ours = request();
    const { deps } = scripted([timeout, conflict]);
    deps.lastMessageOn = async (subject) => {
      expect(subject).toBe(SUBJECT);
      deps.reads++;
      return { seq: 8, data: encodeEvent(ours.event) };
    };
    const [result] = await appendWithRetry(deps, [ours], { timeoutMs: 2000, attemptTimeoutMs: 20 });
    expect(result).toEqual({ ok: true, seq: 8, duplicate: false });
    expect(deps.reads).toBe(1);
  });

  it('reports a real conflict when the last message after an unknown outcome is another event', async () => {
    const { deps } = scripted([timeout, conflict]);
    // Same type and task, another time: not our event.
    deps.lastMessageOn = async () => ({ seq: 8, data: encodeEvent(heartbeat(999)) });
    const [result] = await appendWithRetry(deps, [request()], { timeoutMs: 2000, attemptTimeoutMs: 20 });
    expect(result?.ok === false && result.error).toBeInstanceOf(VersionConflictError);
  });

  it('does not read the log for a conflict on a first try (nothing of ours can have landed)', async () => {
    const { deps, tries } = scripted([conflict]);
    deps.lastMessageOn = async () => {
      throw new Error('must not read');
    };
    const [result] = await appendWithRetry(deps, [request()], { timeoutMs: 2000 });
    expect(result?.ok === false && result.error.code).toBe('VERSION_CONFLICT');
    expect(tries).toHaveLength(1);
  });

  it('fails with a retryable UNAVAILABLE once the deadline passes, every try within it', async () => {
    const { deps, tries } = scripted([timeout]);
    const started = performance.now();
    const [result] = await appendWithRetry(deps, [request()], { timeoutMs: 300 });
    const elapsed = performance.now() - started;
    expect(result?.ok === false && result.error.code).toBe('UNAVAILABLE');
    expect(result?.ok === false && result.error.details).toMatchObject({
      outcomeUnknown: true,
      timeoutMs: 300,
    });
    expect(result?.ok === false && (result.error.cause as CodeqError).code).toBe('TIMEOUT');
    expect(tries.length).toBeGreaterThan(1); // a try is a third of the budget, so there were retries
    expect(tries.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(300);
    expect(elapsed).toBeLessThan(300 + 250); // a failure deadline, with room for a slow machine
  });

  it('answers every item on its own, in input order', async () => {
    const { deps } = scripted([
      () => ({ ok: true, seq: 1, duplicate: false }),
      () => fail(new CodeqError('INVALID_INPUT', 'bad')),
      noResponders,
      () => ({ ok: true, seq: 2, duplicate: false }), // the retry of the third
    ]);
    const results = await appendWithRetry(deps, [request(), request(), request()], { timeoutMs: 2000 });
    expect(results.map((r) => (r.ok ? r.seq : r.error.code))).toEqual([1, 'INVALID_INPUT', 2]);
  });

  it('does not retry on a closed publisher', async () => {
    const { deps, tries } = scripted([noResponders], true);
    const [result] = await appendWithRetry(deps, [request()], { timeoutMs: 2000 });
    expect(result?.ok === false && result.error.code).toBe('UNAVAILABLE');
    expect(tries).toHaveLength(1);
  });
});

describe('decodeAck maps refusals of a cluster without a leader to UNAVAILABLE', () => {
  const ack = (error: object): Uint8Array => Buffer.from(JSON.stringify({ error }));
  it.each([
    [{ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' }],
    [{ code: 500, err_code: 10009, description: 'JetStream cluster can not handle request' }],
    [{ code: 500, description: 'raft: not leader' }],
    [{ code: 503, description: 'JetStream not enabled' }],
  ])('%o', (error) => {
    const decoded = decodeAck(ack(error), SUBJECT, 0);
    expect(decoded instanceof CodeqError && decoded.code).toBe('UNAVAILABLE');
  });

  it('keeps other API errors INTERNAL', () => {
    const decoded = decodeAck(
      ack({ code: 400, err_code: 10054, description: 'maximum messages exceeded' }),
      SUBJECT,
      0,
    );
    expect(decoded instanceof CodeqError && decoded.code).toBe('INTERNAL');
  });
});
