/**
 * OpenTelemetry tracing over both transports, with an in-memory SDK: a producer's span travels in
 * the task (`traceParent`) to the worker, whose handler runs in a CONSUMER span that is its child
 * and links to it; the engine makes server spans for enqueue, claim and result. Without an SDK
 * registered, nothing is recorded and nothing breaks.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../src/sdk/producer.js';
import { UnrecoverableError } from '../../src/sdk/errors.js';
import { Worker } from '../../src/sdk/worker.js';
import type { Job } from '../../src/sdk/worker.types.js';
import { uniqueName } from '../support/servers.js';
import { installTracing, type TestTracing } from '../support/tracing.js';
import { KINDS, createHarness, until, type SdkHarness } from './sdk-harness.js';

/** The tests' tracer, looked up per use: a kept one stays bound to the provider of its time. */
const test = () => trace.getTracer('codeq-tests');

/** The W3C traceparent of a sampled span context. */
function traceparentOf(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-01`;
}

/** Runs `fn` inside a fresh span (ended after), as application code would. */
async function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return test().startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/** The one span named `name` whose attributes include `attrs`, once it ended. */
async function spanOf(t: TestTracing, name: string, attrs: Record<string, unknown>): Promise<ReadableSpan> {
  const match = (s: ReadableSpan) => Object.entries(attrs).every(([k, v]) => s.attributes[k] === v);
  await until(() => t.named(name).some(match), 10_000);
  return t.named(name).find(match)!;
}

/** Runs one worker over `command` until it handled `count` tasks. */
async function handle(
  h: SdkHarness,
  command: string,
  handler: (job: Job) => unknown,
  count = 1,
): Promise<void> {
  let settled = 0;
  const worker = new Worker({ transport: h.transport(), commands: [command], waitSeconds: 1, handler });
  worker.on('completed', () => settled++);
  worker.on('failed', () => settled++);
  await until(() => settled === count, 20_000);
  await worker.close();
}

describe.each(KINDS)('tracing over %s', (kind) => {
  let h: SdkHarness;
  let tracing: TestTracing;
  let producer: Producer;
  beforeAll(async () => {
    tracing = installTracing();
    h = await createHarness(kind);
    producer = new Producer({ transport: h.transport(), batch: false });
  });
  afterAll(async () => {
    await producer.close();
    await h.close();
    await tracing.uninstall();
  });

  it("carries the producer's span to the worker, whose handler span is its child and links to it", async () => {
    const command = uniqueName('TRACED');
    const { task, producerSpan } = await inSpan('place order', async (span) => ({
      task: await producer.enqueue(command, { order: 1 }),
      producerSpan: span.spanContext(),
    }));
    expect(task.traceParent).toBe(traceparentOf(producerSpan));
    const enqueued = (await producer.history(task.id)).find((e) => e.type === 'enqueued');
    expect((enqueued?.data as { traceParent?: string }).traceParent).toBe(traceparentOf(producerSpan));

    let active: Span | undefined;
    let inner: SpanContext | undefined;
    await handle(h, command, () => {
      active = trace.getActiveSpan();
      const child = test().startSpan('send email');
      inner = child.spanContext();
      child.end();
      return { sent: true };
    });

    const process = await spanOf(tracing, `codeq process ${command}`, { 'messaging.message.id': task.id });
    expect(active?.spanContext().spanId).toBe(process.spanContext().spanId);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(producerSpan.traceId);
    expect(process.parentSpanContext?.spanId).toBe(producerSpan.spanId);
    expect(process.links.map((l) => l.context.spanId)).toEqual([producerSpan.spanId]);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'codeq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': command,
      'codeq.task.attempt': 1,
    });
    expect(process.status.code).not.toBe(SpanStatusCode.ERROR);
    // What the handler traces nests under its span.
    const email = tracing.named('send email').find((s) => s.spanContext().spanId === inner?.spanId);
    expect(email?.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
  });

  it('makes server spans for enqueue, claim and result', async () => {
    const command = uniqueName('SERVER_SPANS');
    const { task, producerSpan } = await inSpan('produce', async (span) => ({
      task: await producer.enqueue(command, {}),
      producerSpan: span.spanContext(),
    }));
    await handle(h, command, () => 'done');

    const enqueue = await spanOf(tracing, `codeq enqueue ${command}`, { 'messaging.message.id': task.id });
    expect(enqueue.kind).toBe(SpanKind.SERVER);
    expect(enqueue.attributes).toMatchObject({
      'messaging.system': 'codeq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': command,
    });
    // In-process the producer's span is active; over HTTP the request carries it in the task.
    expect(enqueue.parentSpanContext?.spanId).toBe(producerSpan.spanId);

    const claim = await spanOf(tracing, 'codeq claim', { 'messaging.message.id': task.id });
    expect(claim.kind).toBe(SpanKind.SERVER);
    expect(claim.attributes).toMatchObject({
      'messaging.system': 'codeq',
      'messaging.operation.type': 'receive',
      'messaging.destination.name': command,
      'messaging.batch.message_count': 1,
    });
    expect(claim.links.map((l) => l.context.spanId)).toEqual([producerSpan.spanId]);

    // In-process completions go as a batch naming the command; over HTTP or NATS one result names the task.
    const result = await spanOf(tracing, `codeq result ${command}`, {
      'messaging.destination.name': command,
    });
    expect(result.kind).toBe(SpanKind.SERVER);
    expect(result.attributes).toMatchObject({
      'messaging.system': 'codeq',
      'messaging.operation.type': 'settle',
    });
    if (kind !== 'engine') expect(result.attributes['messaging.message.id']).toBe(task.id);
    else expect(result.attributes['messaging.batch.message_count']).toBe(1);
  });

  it("records a handler's error on its span", async () => {
    const command = uniqueName('TRACED_FAIL');
    const task = await inSpan('produce', () => producer.enqueue(command, {}));
    await handle(h, command, () => {
      throw new UnrecoverableError('no such customer');
    });
    const process = await spanOf(tracing, `codeq process ${command}`, { 'messaging.message.id': task.id });
    expect(process.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such customer' });
    expect(process.attributes['error.type']).toBe('UnrecoverableError');
    expect(process.events.map((e) => e.name)).toContain('exception');
  });

  it('keeps a trace context the producer gave, and starts a new trace for a task without one', async () => {
    const command = uniqueName('GIVEN_TRACE');
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const kept = await inSpan('produce', () =>
      producer.enqueue(command, {}, { traceParent: given, traceState: 'vendor=x' }),
    );
    expect(kept).toMatchObject({ traceParent: given, traceState: 'vendor=x' });
    const bare = await producer.enqueue(command, {});
    expect(bare.traceParent).toBeUndefined();

    await handle(h, command, () => 1, 2);
    const linked = await spanOf(tracing, `codeq process ${command}`, { 'messaging.message.id': kept.id });
    expect(linked.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(linked.links[0]?.context.traceState?.get('vendor')).toBe('x');
    const root = await spanOf(tracing, `codeq process ${command}`, { 'messaging.message.id': bare.id });
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.links).toEqual([]);
  });
});

describe('tracing in-process, straight on the engine', () => {
  let h: SdkHarness;
  let tracing: TestTracing;
  beforeAll(async () => {
    tracing = installTracing();
    h = await createHarness('engine');
  });
  afterAll(async () => {
    await h.close();
    await tracing.uninstall();
  });

  it("gives engine.enqueue and enqueueMany the caller's context, one server span per call", async () => {
    const command = uniqueName('ENGINE_TRACE');
    const { one, many, caller } = await inSpan('caller', async (span) => ({
      one: await h.engine.enqueue({ command, payload: {} }),
      many: await h.engine.enqueueMany([
        { command, payload: 1 },
        { command, payload: 2 },
      ]),
      caller: span.spanContext(),
    }));
    for (const view of [one, ...many]) expect(view.traceParent).toBe(traceparentOf(caller));
    const batch = await spanOf(tracing, `codeq enqueue ${command}`, { 'messaging.batch.message_count': 2 });
    expect(batch.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(tracing.named(`codeq enqueue ${command}`)).toHaveLength(2);
  });

  it('records a refused enqueue as an error span', async () => {
    await expect(
      inSpan('caller', () => h.engine.enqueue({ command: 'bad command', payload: {} })),
    ).rejects.toThrow();
    const refused = await spanOf(tracing, 'codeq enqueue', { 'error.type': 'INVALID_INPUT' });
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
  });
});

describe('without an OpenTelemetry SDK', () => {
  let h: SdkHarness;
  let tracing: TestTracing;
  beforeAll(async () => {
    // Installed and removed at once: a span that still reached its exporter would show.
    tracing = installTracing();
    await tracing.uninstall();
    h = await createHarness('engine');
  });
  afterAll(() => h.close());

  it('enqueues, claims and completes with no trace context and records nothing', async () => {
    const command = uniqueName('UNTRACED');
    const producer = new Producer({ transport: h.transport() });
    const task = await inSpan('no-op', () => producer.enqueue(command, { a: 1 }));
    expect(task.traceParent).toBeUndefined();
    let active: Span | undefined;
    await handle(h, command, () => {
      active = trace.getActiveSpan();
      return { ok: true };
    });
    expect(active).toBeUndefined();
    expect((await producer.result(task.id)).result?.status).toBe('COMPLETED');
    await producer.close();
    expect(tracing.spans()).toEqual([]);
  });
});
