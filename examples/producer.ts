/**
 * Example producer against the quick-start server (`npm start -- --dev`, http://127.0.0.1:8080):
 * enqueues 1 000 tasks through the client-side batcher and waits for one result.
 *
 *   npx tsx examples/producer.ts
 *
 * Environment: CODEQ_BASE_URL (default http://127.0.0.1:8080), CODEQ_PRODUCER_TOKEN and
 * CODEQ_ADMIN_TOKEN (default the dev tokens).
 */
import { HttpTransport, Producer } from '../src/sdk/index.js';

/** The commands of this example and their payloads: every call below is type-checked against it. */
type Commands = {
  RESIZE_IMAGE: { url: string; width: number };
};

const transport = new HttpTransport({
  baseUrl: process.env.CODEQ_BASE_URL ?? 'http://127.0.0.1:8080',
  tokens: {
    producer: process.env.CODEQ_PRODUCER_TOKEN ?? 'dev-producer-token',
    // Queue stats are an admin endpoint.
    admin: process.env.CODEQ_ADMIN_TOKEN ?? 'dev-admin-token',
  },
});
const producer = new Producer<Commands>({ transport, batch: { maxSize: 200, maxDelayMs: 10 } });

const started = Date.now();
// 1 000 single calls; the batcher sends them in about five requests.
const tasks = await Promise.all(
  Array.from({ length: 1000 }, (_, i) =>
    producer.enqueue('RESIZE_IMAGE', { url: `https://example.com/${i}.png`, width: 128 }),
  ),
);
console.log(
  `enqueued ${tasks.length} tasks in ${Date.now() - started} ms (${producer.batchesSent} requests)`,
);

const first = tasks[0]!;
console.log('waiting up to 30 s for', first.id, '(start examples/worker.ts)');
const { task, result } = await producer.result<{ thumbnail: string }>(first.id, { waitMs: 30_000 });
console.log(task.status, result?.result ?? '(not finished yet)');
console.log(await producer.stats('RESIZE_IMAGE'));
await producer.close();
await transport.close();
