/**
 * Failing fast when NATS is gone (issue 12): with nats-server stopped, enqueue, claim and complete
 * answer a retryable UNAVAILABLE within the engine's dependencyTimeoutMs (plus a margin: this bounds
 * how long a caller waits for a failure, it is not a performance assertion), and work again once
 * the server is back. The log keeps no duplicate of what was retried meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { rejection, sleep } from '../support/assertions.js';
import { engineOptions, testDeployment } from '../support/engine.js';
import { accountFor, noDoubleLease, readStream } from '../support/invariants.js';
import { startServers, type TestServers } from '../support/servers.js';

const DEPENDENCY_TIMEOUT_MS = 1000;
/** Room for a slow, shared machine on top of the budget. */
const MARGIN_MS = 2000;
const COMMAND = 'DOWN';

let servers: TestServers;
let engine: Engine;

beforeAll(async () => {
  servers = await startServers();
  const deployment = testDeployment({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
  engine = await Engine.create(engineOptions(deployment, { dependencyTimeoutMs: DEPENDENCY_TIMEOUT_MS }));
});

afterAll(async () => {
  await engine?.close();
  await servers?.close();
});

/** Milliseconds `call` took to reject, and its error. */
async function timedRejection(call: () => Promise<unknown>): Promise<{ ms: number; code: string }> {
  const started = performance.now();
  const err = await rejection(call());
  return { ms: performance.now() - started, code: err.code };
}

async function waitUntilNatsIsBack(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await engine.readiness()).nats) {
    if (Date.now() > deadline) throw new Error('the engine did not reconnect to NATS');
    await sleep(100);
  }
}

describe('NATS down', () => {
  it('enqueue, claim and complete fail with UNAVAILABLE within the dependency timeout, and work once NATS is back', async () => {
    const [leased] = await engine.enqueueMany([
      { command: COMMAND, payload: { n: 1 } },
      { command: COMMAND, payload: { n: 2 } },
    ]);
    const [task] = await engine.claim({ workerId: 'w1', commands: [COMMAND], count: 1 });
    expect(task?.id).toBe(leased?.id);

    await servers.nats.stop();

    const enqueue = await timedRejection(() => engine.enqueue({ command: COMMAND, payload: { n: 3 } }));
    expect(enqueue.code).toBe('UNAVAILABLE');
    expect(enqueue.ms).toBeLessThan(DEPENDENCY_TIMEOUT_MS + MARGIN_MS);
    // A keyed one binds its key first: that too is bounded by the one budget.
    const keyed = await timedRejection(() =>
      engine.enqueue({ command: COMMAND, payload: { n: 4 }, idempotencyKey: 'down-key' }),
    );
    expect(keyed.code).toBe('UNAVAILABLE');
    expect(keyed.ms).toBeLessThan(DEPENDENCY_TIMEOUT_MS + MARGIN_MS);

    // The second task is ready in Redis: the claim reserves it, and the log refuses to take the lease.
    const claim = await timedRejection(() =>
      engine.claim({ workerId: 'w2', commands: [COMMAND], count: 1, waitSeconds: 10 }),
    );
    expect(claim.code).toBe('UNAVAILABLE');
    expect(claim.ms).toBeLessThan(DEPENDENCY_TIMEOUT_MS + MARGIN_MS);

    const complete = await timedRejection(() =>
      engine.complete({ taskId: task!.id, workerId: 'w1', result: { ok: true } }),
    );
    expect(complete.code).toBe('UNAVAILABLE');
    expect(complete.ms).toBeLessThan(DEPENDENCY_TIMEOUT_MS + MARGIN_MS);

    await servers.nats.start();
    await waitUntilNatsIsBack();

    const fresh = await engine.enqueue({ command: COMMAND, payload: { n: 4 } });
    const claimed = await engine.claim({ workerId: 'w3', commands: [COMMAND], count: 1, waitSeconds: 10 });
    expect(claimed).toHaveLength(1);
    const result = await engine.complete({ taskId: claimed[0]!.id, workerId: 'w3', result: { ok: true } });
    expect(result.status).toBe('COMPLETED');

    // Tries buffered by the client while the server was away may land after it came back; each
    // lands once at most (msg id or expected sequence), so the log holds no duplicate.
    const stream = await readStream(engine);
    expect(accountFor(stream, [leased!.id, fresh.id]).violations).toEqual([]);
    expect(noDoubleLease(stream).violations).toEqual([]);
  }, 60_000);
});
