import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { createTestEngine } from '../support/engine.js';

describe('engine smoke', () => {
  let engine: Engine;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, close } = await createTestEngine());
  });
  afterAll(async () => close());

  it('enqueue → claim → complete', async () => {
    const t = await engine.enqueue({ command: 'SMOKE', payload: { a: 1 } });
    expect(t.status).toBe('PENDING');
    const [c] = await engine.claim({ workerId: 'w1', commands: ['SMOKE'] });
    expect(c?.id).toBe(t.id);
    expect(c?.attempts).toBe(1);
    const r = await engine.complete({ taskId: t.id, workerId: 'w1', result: { ok: true } });
    expect(r.status).toBe('COMPLETED');
    const got = await engine.getTask(t.id);
    expect(got.status).toBe('COMPLETED');
    const h = await engine.history(t.id);
    expect(h.events.map((e) => e.type)).toEqual(['enqueued', 'claimed', 'completed']);
    expect(h.state.status).toBe('completed');
  });
});
