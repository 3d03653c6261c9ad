/**
 * The dashboard's search over a big projection (issue 17): 1,000,000 tasks of one command (plus two
 * small commands) loaded straight into Redis through the projection's own apply path
 * (`ProjectionStore.apply`, the script a rebuild runs), then the median time of `searchTasks` for
 * page 1 and a deep page of 50, with and without a command, by state, by creation range, by id, and
 * a payload-field filter (a bounded scan). Times are the engine call (Redis round trips and
 * decoding), not HTTP.
 *
 * Usage: `npx tsx bench/ui-search.ts [tasks]` (default 1,000,000), or `npm run bench:ui-search`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { searchTasks, type SearchInput } from '../src/engine/task-search.js';
import type { StoredTaskEvent } from '../src/events/task-event.schema.js';
import { LocalServer } from '../src/local/local-servers.js';
import { ProjectionKeys } from '../src/projections/keys.js';
import { ProjectionStore } from '../src/projections/projection.store.js';
import { median } from './report.js';

const N = Number(process.argv[2] ?? 1_000_000);
const BATCH = 2_000;
const RUNS = 21;
const BIG = 'search';
const dir = mkdtempSync(join(tmpdir(), 'codeq-ui-search-'));
const server = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const redis = new Redis(server.url);
const store = new ProjectionStore(redis, new ProjectionKeys('bench'));
const log = (line: string) => process.stderr.write(`${line}\n`);

let seq = 0;
const start = Date.now() - N; // one task per ms, so creation times are distinct and in the past
const enqueued = (command: string, i: number): StoredTaskEvent =>
  ({
    v: 1,
    type: 'enqueued',
    taskId: randomUUID(),
    command,
    at: start + i,
    actor: 'bench',
    seq: ++seq,
    data: {
      payload: { customer: { id: `c${i % 1000}` }, i },
      priority: 5,
      maxAttempts: 5,
      ...(i % 10 === 0 ? { groupKey: `g${i % 100}` } : {}),
    },
  }) as StoredTaskEvent;

const t0 = performance.now();
let sample = '';
for (let i = 0; i < N; i += BATCH) {
  const events = Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => enqueued(BIG, i + j));
  if (i === N / 2) sample = events[0]!.taskId;
  await store.apply(events);
  if (i % 100_000 === 0) log(`loaded ${i.toLocaleString('en-US')}`);
}
for (const small of ['small-a', 'small-b'])
  await store.apply(Array.from({ length: 1000 }, (_, j) => enqueued(small, N - 1000 + j)));
const loadS = (performance.now() - t0) / 1000;
log(`loaded ${N.toLocaleString('en-US')} tasks in ${loadS.toFixed(0)} s (${Math.round(N / loadS)}/s)`);

const cursorAt = (offsets: Record<string, number>) =>
  Buffer.from(JSON.stringify(offsets)).toString('base64url');
const deep = Math.floor(N * 0.8);
const cases: [string, SearchInput][] = [
  ['command, page 1 of 50', { command: BIG }],
  [`command, page at ${deep.toLocaleString('en-US')}`, { command: BIG, cursor: cursorAt({ [BIG]: deep }) }],
  ['every command (3 merged), page 1', {}],
  ['every command, deep page', { cursor: cursorAt({ [BIG]: deep, 'small-a': 500, 'small-b': 500 }) }],
  ['state=ready, page 1', { command: BIG, state: 'ready' }],
  ['state=ready, deep page', { command: BIG, state: 'ready', cursor: cursorAt({ [BIG]: deep }) }],
  ['created range (middle), page 1', { command: BIG, createdFrom: start + N / 4, createdTo: start + N / 2 }],
  ['id', { id: sample }],
  ['groupKey (scan, 1 in 100 match)', { command: BIG, groupKey: 'g10' }],
  [
    'payload customer.id (scan, 1 in 1000 match)',
    { command: BIG, payloadPath: 'customer.id', payloadValue: 'c7' },
  ],
];
const rows: string[] = [];
for (const [label, input] of cases) {
  const times: number[] = [];
  let page = await searchTasks(store, input);
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    page = await searchTasks(store, input);
    times.push(performance.now() - s);
  }
  const row = `| ${label} | ${(median(times) ?? 0).toFixed(1)} | ${Math.max(...times).toFixed(1)} | ${page.items.length} | ${page.total.toLocaleString('en-US')}${page.totalExact ? '' : ' (lower bound)'} |`;
  rows.push(row);
  log(row);
}
process.stdout.write(
  `\n${N.toLocaleString('en-US')} tasks, ${RUNS} runs each, ms:\n\n| search | median | max | items | total |\n|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
redis.disconnect();
await server.stop();
rmSync(dir, { recursive: true, force: true });
