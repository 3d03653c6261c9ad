/**
 * Example worker against the quick-start server (`npm start -- --dev`, http://127.0.0.1:8080):
 * claims RESIZE_IMAGE tasks 32 at a time and stops gracefully on Ctrl-C.
 *
 *   npx tsx examples/worker.ts
 *
 * Environment: CODEQ_BASE_URL (default http://127.0.0.1:8080), CODEQ_WORKER_TOKEN (default the dev
 * worker token).
 */
import { HttpTransport, UnrecoverableError, Worker } from '../src/sdk/index.js';

type Commands = {
  RESIZE_IMAGE: { url: string; width: number };
};

const transport = new HttpTransport({
  baseUrl: process.env.CODEQ_BASE_URL ?? 'http://127.0.0.1:8080',
  token: process.env.CODEQ_WORKER_TOKEN ?? 'dev-worker-token',
});

let done = 0;
const worker = new Worker<Commands, 'RESIZE_IMAGE'>({
  transport,
  commands: ['RESIZE_IMAGE'],
  concurrency: 32,
  leaseSeconds: 30,
  handler: async (job) => {
    // job.payload is typed { url, width }.
    if (job.payload.width <= 0) throw new UnrecoverableError('width must be positive'); // no retry
    await job.updateProgress(50);
    // Pass job.signal to anything cancellable: it fires if the lease is lost or on shutdown.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { thumbnail: `${job.payload.url}?w=${job.payload.width}` };
  },
});
worker.on('completed', () => {
  if (++done % 100 === 0) console.log(`${done} completed`);
});
worker.on('failed', (job, err, info) => console.warn(`${job.id} failed (${info.outcome}): ${err.message}`));
worker.on('error', (err) => console.error('worker error:', err.code, err.message));

process.once('SIGINT', () => {
  console.log('stopping: running handlers get 10 s, the rest is handed back');
  void worker
    .close({ timeoutMs: 10_000 })
    .then(() => transport.close())
    .then(() => console.log(`stopped after ${done} tasks`));
});
console.log('worker running; Ctrl-C to stop');
