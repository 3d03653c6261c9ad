/**
 * What a batch enqueue answers when the log takes some items and not others: an error that says,
 * item by item, what was written. The log and the projection are stand-ins here (pure logic).
 */
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/engine/engine-settings.js';
import { enqueueMany, type EnqueueDeps } from '../../src/engine/enqueue.js';
import { IntentHandler } from '../../src/engine/intent-handler.js';
import type { TaskWriter, WriteItem, WriteOutcome } from '../../src/engine/task-writer.js';
import type { ProjectionStore } from '../../src/projections/projection.store.js';
import { CodeqError } from '../../src/errors.js';
import type { StoredTaskEvent } from '../../src/events/task-event.schema.js';

/** Deps whose log refuses the items `refuse` picks, with `code` (the write path is the real one). */
function deps(refuse: (item: WriteItem, index: number) => boolean, code: 'UNAVAILABLE' = 'UNAVAILABLE') {
  let seq = 0;
  const store = {
    idempotencyLookup: async (keys: readonly string[]) => keys.map(() => undefined),
    load: async () => undefined,
    apply: async () => undefined,
  };
  const writer = {
    write: async (items: readonly WriteItem[]): Promise<WriteOutcome[]> =>
      items.map((item, i) =>
        refuse(item, i)
          ? { ok: false, error: new CodeqError(code, 'nats-server is gone') }
          : { ok: true, duplicate: false, event: { ...item.event, seq: ++seq } as StoredTaskEvent },
      ),
    resync: async () => undefined,
  };
  const settings = resolveSettings();
  const handler = new IntentHandler({
    store: store as unknown as ProjectionStore,
    writer: writer as unknown as TaskWriter,
    log: { getBySeq: async () => undefined },
    settings,
    ensureBuilt: async () => undefined,
  });
  const d = {
    settings,
    store,
    handler,
    publisher: {},
    dependencyTimeoutMs: 1000,
    registry: {
      bindMany: async (items: { taskId: string; command: string }[]) =>
        items.map(({ taskId, command }) => ({ taskId, command, revision: 1, created: true })),
      release: async () => undefined,
    },
  };
  return { deps: d as unknown as EnqueueDeps };
}

describe('enqueueMany, partly written', () => {
  it('names every item written and every item not', async () => {
    const { deps: d } = deps((item) => (item.event.data as { payload: { n: number } }).payload.n % 2 === 1);
    const inputs = [0, 1, 2, 3].map((n) => ({ command: 'PART', payload: { n } }));
    const err = (await enqueueMany(inputs, d).catch((e: unknown) => e)) as CodeqError;
    expect(err).toBeInstanceOf(CodeqError);
    expect(err.code).toBe('UNAVAILABLE');
    const written = err.details?.written as { index: number; id: string }[];
    expect(written.map((w) => w.index)).toEqual([0, 2]);
    expect(written.every((w) => /^[0-9a-f-]{36}$/.test(w.id))).toBe(true);
    expect((err.details?.failed as { index: number; code: string }[]).map((f) => [f.index, f.code])).toEqual([
      [1, 'UNAVAILABLE'],
      [3, 'UNAVAILABLE'],
    ]);
  });

  it('a single input answers with its own error', async () => {
    const { deps: d } = deps(() => true);
    await expect(enqueueMany([{ command: 'PART', payload: {} }], d)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'nats-server is gone',
    });
  });

  it('a repeated key in the batch shares its first input outcome', async () => {
    const { deps: d } = deps(() => false);
    const [a, b, c] = await enqueueMany(
      [
        { command: 'PART', payload: 1, idempotencyKey: 'k' },
        { command: 'PART', payload: 2 },
        { command: 'PART', payload: 3, idempotencyKey: 'k' },
      ],
      d,
    );
    expect(c!.id).toBe(a!.id);
    expect(b!.id).not.toBe(a!.id);
  });

  it('a key conflict inside the batch writes nothing', async () => {
    let writes = 0;
    const { deps: d } = deps(() => {
      writes++;
      return false;
    });
    await expect(
      enqueueMany(
        [
          { command: 'A', payload: 1 },
          { command: 'B', payload: 2, idempotencyKey: 'k' },
          { command: 'C', payload: 3, idempotencyKey: 'k' },
        ],
        d,
      ),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    expect(writes).toBe(0);
  });
});
