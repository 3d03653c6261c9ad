/**
 * With Redis down, requests fail fast with `UNAVAILABLE` (bounded by `dependencyTimeoutMs`) instead
 * of hanging for the whole outage; an enqueue whose append reached the log still succeeds (the
 * event is the fact; the projector applies it once Redis is back); once Redis is back, everything
 * works again and nothing is lost. Private servers: Redis is stopped and restarted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { CodeqError } from '../../src/errors.js';
import { engineOptions, testDeployment } from '../support/engine.js';
import { startServers, type TestServers } from '../support/servers.js';

const COMMAND = 'FAILFAST';
const DEPENDENCY_TIMEOUT_MS = 1000;
/** Generous bound on the failure deadline: a correctness check, not a performance one. */
const FAIL_WITHIN_MS = 5000;

let servers: TestServers;
let engine: Engine;

beforeAll(async () => {
  // Append-only: the restarted Redis keeps the projection, so the test covers the catch-up of the
  // apply that failed (not a full rebuild).
  servers = await startServers({ redisAppendOnly: true });
  const deployment = testDeployment({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
  engine = await Engine.create(
    engineOptions(deployment, {
      background: true,
      dependencyTimeoutMs: DEPENDENCY_TIMEOUT_MS,
      settings: { sweepIntervalMs: 100 },
    }),
  );
});

afterAll(async () => {
  await engine?.close();
  await servers?.close();
});

/** How the call ended and how long it took. */
async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = Date.now();
  try {
    const value = await call();
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

function codeOf(error: unknown): string | undefined {
  return error instanceof CodeqError ? error.code : `not a CodeqError: ${String(error)}`;
}

describe('Redis down: fail fast, recover when it is back', () => {
  it('enqueue and claim answer UNAVAILABLE within the deadline, succeed again after, nothing lost', async () => {
    const before = await engine.enqueue({ command: COMMAND, payload: { n: 'before' } });
    await servers.redis.stop();

    // A keyed enqueue reads the idempotency index first: it cannot answer without Redis.
    const keyed = await timed(() =>
      engine.enqueue({ command: COMMAND, payload: { n: 'keyed' }, idempotencyKey: 'ff-key' }),
    );
    expect(codeOf(keyed.error)).toBe('UNAVAILABLE');
    expect(keyed.ms).toBeLessThan(FAIL_WITHIN_MS);

    // An unkeyed enqueue is decided by the log alone: its apply fails, the answer does not.
    const during = await timed(() => engine.enqueue({ command: COMMAND, payload: { n: 'during' } }));
    expect(during.error).toBeUndefined();
    expect(during.ms).toBeLessThan(FAIL_WITHIN_MS);

    const claim = await timed(() => engine.claim({ workerId: 'w1', commands: [COMMAND], waitSeconds: 0 }));
    expect(codeOf(claim.error)).toBe('UNAVAILABLE');
    expect(claim.ms).toBeLessThan(FAIL_WITHIN_MS);

    const stats = await timed(() => engine.queueStats(COMMAND));
    expect(codeOf(stats.error)).toBe('UNAVAILABLE');
    expect(stats.ms).toBeLessThan(FAIL_WITHIN_MS);

    await servers.redis.start();

    // Back: the keyed enqueue goes through, and every task (the one enqueued during the outage
    // included, applied by the projector's catch-up) is claimed exactly once.
    const expected = new Set([before.id, during.value!.id]);
    const deadline = Date.now() + 15_000;
    let keyedView;
    while (keyedView === undefined) {
      keyedView = await engine
        .enqueue({ command: COMMAND, payload: { n: 'keyed' }, idempotencyKey: 'ff-key' })
        .catch((err: unknown) => {
          if (codeOf(err) !== 'UNAVAILABLE' || Date.now() > deadline) throw err;
          return undefined;
        });
      if (keyedView === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expected.add(keyedView.id);
    const claimed: string[] = [];
    while (claimed.length < expected.size && Date.now() < deadline) {
      const tasks = await engine
        .claim({ workerId: 'w1', commands: [COMMAND], waitSeconds: 1, count: 10 })
        .catch((err: unknown) => {
          if (codeOf(err) !== 'UNAVAILABLE') throw err;
          return [];
        });
      for (const t of tasks) {
        claimed.push(t.id);
        await engine.complete({ taskId: t.id, workerId: 'w1', result: { ok: true } });
      }
    }
    expect(claimed.sort()).toEqual([...expected].sort());
    expect(await engine.queueStats(COMMAND)).toMatchObject({ ready: 0, delayed: 0, inProgress: 0, dlq: 0 });
  });

  it('a Redis that stops answering (SIGSTOP): requests time out after the deadline, answers stay in order after SIGCONT', async () => {
    const pid = servers.redis.pid!;
    const before = await engine.enqueue({ command: COMMAND, payload: { n: 'before-stop' } });
    process.kill(pid, 'SIGSTOP');
    try {
      const claim = await timed(() => engine.claim({ workerId: 'w2', commands: [COMMAND], waitSeconds: 0 }));
      expect(codeOf(claim.error)).toBe('UNAVAILABLE');
      expect(claim.ms).toBeGreaterThanOrEqual(DEPENDENCY_TIMEOUT_MS - 50);
      expect(claim.ms).toBeLessThan(FAIL_WITHIN_MS);
      const read = await timed(() => engine.getTask(before.id));
      expect(codeOf(read.error)).toBe('UNAVAILABLE');
      expect(read.ms).toBeLessThan(FAIL_WITHIN_MS);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The late replies of the timed-out commands are matched to them and dropped: the next
    // commands get their own answers (a shifted reply would show the wrong task or state).
    expect((await engine.getTask(before.id)).id).toBe(before.id);
    // The timed-out reserve may hold the task until its reservation lapses: claim until it comes.
    const deadline = Date.now() + 15_000;
    const claimed: string[] = [];
    while (claimed.length === 0 && Date.now() < deadline) {
      const tasks = await engine.claim({ workerId: 'w2', commands: [COMMAND], waitSeconds: 1 });
      claimed.push(...tasks.map((t) => t.id));
    }
    expect(claimed).toEqual([before.id]);
    await engine.complete({ taskId: before.id, workerId: 'w2', result: { ok: true } });
    expect(await engine.queueStats(COMMAND)).toMatchObject({ ready: 0, delayed: 0, inProgress: 0, dlq: 0 });
  });
});
