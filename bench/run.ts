/**
 * `npm run bench`: codeq against BullMQ on servers this run starts (nats-server with JetStream,
 * redis-server), alternating the peers per figure per round, then a table of medians and ratios.
 *
 * Flags: `--rounds N` (default 3), `--quick` (small sizes), `--only enqueue,process,...`
 * (groups: enqueue, process, latency, idle, distinct, backlog, flow), `--aof` (Redis appendonly
 * everysec).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalServer, freePort } from '../src/local/local-servers.js';
import {
  BULLMQ_MAX_QUEUES,
  DEFAULT_SIZES,
  DISTINCT_COUNTS,
  GROUPS,
  LATENCY_RATES,
  QUICK_SIZES,
  rowSpecs,
  type Group,
} from './figures.js';
import { flowBacklog, flowRound, type FlowContext } from './flow-run.js';
import { BullmqPeer } from './peers/bullmq.peer.js';
import { CodeqHttpPeer } from './peers/codeq-http.peer.js';
import { CodeqNatsPeer } from './peers/codeq-nats.peer.js';
import { claimLatency, fillBigBacklog, rebuildAfterLossRate, rebuildRate } from './peers/codeq-backlog.js';
import { CodeqPeer } from './peers/codeq.peer.js';
import { setCpuProbe, type ProcessFigure } from './peers/peer.js';
import { buildRows, fmt, markdownTable, median, record, textTable, type Samples } from './report.js';
import { processCpuUs, selfCpuUs } from './support-cpu.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(option('--rounds') ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number >= 1');
const quick = flag('--quick');
const aof = flag('--aof');
const only = new Set((option('--only') ?? GROUPS.join(',')).split(',').map((g) => g.trim()));
for (const g of only)
  if (!(GROUPS as readonly string[]).includes(g))
    throw new Error(`unknown group ${g}; groups: ${GROUPS.join(', ')}`);
const sizes = quick ? QUICK_SIZES : DEFAULT_SIZES;
const runs = (g: Group) => only.has(g);

const t0 = performance.now();
const progress = (line: string) =>
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const version = (bin: string) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
const started = new Date();
const srcFingerprint = fingerprint(join(process.cwd(), 'src'));
const loadStart = loadavg();

// Servers: ours, on free ports, in a temporary directory removed at the end.
const dir = mkdtempSync(join(tmpdir(), 'codeq-bench-'));
const monitorPort = await freePort();
const nats = await new LocalServer({
  kind: 'nats',
  dataDir: join(dir, 'nats'),
  extraArgs: ['-m', String(monitorPort)],
}).start();
const redis = await new LocalServer({
  kind: 'redis',
  dataDir: join(dir, 'redis'),
  redisAppendOnly: aof,
  extraArgs: aof ? ['--appendfsync', 'everysec'] : [],
}).start();
const settings = {
  nats: `${version('nats-server')}, JetStream file store, sync interval 2 min (nats-server default; acks before fsync)`,
  redis: `${version('redis-server').split(' ').slice(0, 3).join(' ')}, ${aof ? 'appendonly yes, appendfsync everysec' : 'no persistence (appendonly no, save "")'}`,
  engine: 'codeq engines without background loops (background: false); one process runs client and peers',
};
progress(`nats ${nats.url} (monitor :${monitorPort}), redis ${redis.url}, dir ${dir}`);
progress(`settings: ${settings.nats}; ${settings.redis}`);

const natsMessages = async () =>
  ((await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { in_msgs: number }).in_msgs;
const engineOptions = { natsServers: nats.url, redisUrl: redis.url, background: false };
const codeq = new CodeqPeer({ engine: engineOptions, natsMessages });
const codeqSdk = new CodeqPeer({ engine: engineOptions, via: 'sdk' });
const codeqHttp = new CodeqHttpPeer(codeq, { via: 'raw' });
const codeqSdkHttp = new CodeqHttpPeer(codeq, { via: 'sdk' });
const codeqSdkNats = new CodeqNatsPeer(codeq, nats.url);
const bull = new BullmqPeer(redis.url);

const samples: Samples = new Map();
const cpu: Samples = new Map();
const invariants: string[] = [];

const cpuReading = () => [selfCpuUs(), processCpuUs(nats.pid), processCpuUs(redis.pid)];
setCpuProbe(cpuReading);

/**
 * Runs one measurement, records it under `key`, prints a progress line. With `perTaskCpu`, also
 * records CPU µs per task of node, nats-server and redis-server: the timed part's (`cpuUs` of the
 * result) when the peer reports it, else the whole call's.
 */
async function measure<T extends { value: number; unit: string; cpuUs?: number[] }>(
  round: number,
  key: string,
  run: () => Promise<T>,
  perTaskCpu?: number,
): Promise<T> {
  const before = cpuReading();
  const s = performance.now();
  const r = await run();
  const whole = cpuReading().map((v, i) => v - before[i]!);
  record(samples, key, r.value);
  let cpuText = '';
  if (perTaskCpu) {
    const per = (r.cpuUs ?? whole).map((v) => v / perTaskCpu);
    ['node', 'nats', 'redis'].forEach((p, i) => record(cpu, `${key}|${p}`, per[i]!));
    cpuText = `  (CPU µs/task: node ${per[0]!.toFixed(0)}, nats ${per[1]!.toFixed(0)}, redis ${per[2]!.toFixed(0)})`;
  }
  progress(
    `round ${round}/${rounds}  ${key.padEnd(30)} ${fmt(r.value)} ${r.unit}  [${((performance.now() - s) / 1000).toFixed(1)} s]${cpuText}`,
  );
  return r;
}

async function processRun(round: number, key: string, run: () => Promise<ProcessFigure>): Promise<void> {
  const r = await measure(round, `process|${key}`, run, sizes.backlog);
  const peer = key.startsWith('codeq') ? 'codeq' : 'bullmq';
  if (r.memory && (key === 'codeq' || key === 'bullmq')) {
    record(samples, `mem-pending|${peer}`, r.memory.pending);
    record(samples, `mem-completed|${peer}`, r.memory.completed);
    if (r.memory.stream !== undefined) record(samples, `stream-bytes|${peer}`, r.memory.stream);
  }
  if (r.invariants) {
    invariants.push(`round ${round} ${key}: ${r.invariants}`);
    progress(`  invariants ${key}: ${r.invariants}`);
  }
}

progress(`rounds ${rounds}, groups ${[...only].join(',')}, sizes ${JSON.stringify(sizes)}`);
let big: Awaited<ReturnType<typeof fillBigBacklog>> | undefined;
let flowEngine: Awaited<ReturnType<typeof flowBacklog>>;
const flow: FlowContext = { codeq, sizes, rounds, samples, cpu, invariants, progress };
try {
  for (let round = 1; round <= rounds; round++) {
    if (runs('enqueue')) {
      await measure(
        round,
        'enqueue-batched|codeq',
        () => codeq.enqueueBatched(sizes.enqueueBatched, 1000),
        sizes.enqueueBatched,
      );
      await measure(
        round,
        'enqueue-batched|bullmq',
        () => bull.enqueueBatched(sizes.enqueueBatched, 1000),
        sizes.enqueueBatched,
      );
      // The same calls with 4 in flight, for both peers: codeq's append and apply pipeline overlaps.
      await measure(
        round,
        'enqueue-batched4|codeq',
        () => codeq.enqueueBatched(sizes.enqueueBatched, 1000, 4),
        sizes.enqueueBatched,
      );
      await measure(
        round,
        'enqueue-batched4|bullmq',
        () => bull.enqueueBatched(sizes.enqueueBatched, 1000, 4),
        sizes.enqueueBatched,
      );
      await measure(round, 'enqueue-batched|codeq-http', () =>
        codeqHttp.enqueueBatched(sizes.enqueueBatched, 1000),
      );
      await measure(round, 'enqueue-single|codeq', () => codeq.enqueueSingle(sizes.enqueueSingle, 64));
      await measure(round, 'enqueue-single|bullmq', () => bull.enqueueSingle(sizes.enqueueSingle, 64));
    }
    if (runs('process')) {
      await processRun(round, 'codeq-sdk', () => codeqSdk.processBacklog(sizes.backlog));
      await processRun(round, 'bullmq', () => bull.processBacklog(sizes.backlog));
      await processRun(round, 'codeq', () => codeq.processBacklog(sizes.backlog));
      await processRun(round, 'codeq-sdk-http', () => codeqSdkHttp.processBacklog(sizes.backlog));
      await processRun(round, 'codeq-http', () => codeqHttp.processBacklog(sizes.backlog));
      await processRun(round, 'codeq-sdk-nats', () => codeqSdkNats.processBacklog(sizes.backlog));
    }
    if (runs('latency')) {
      for (const rate of LATENCY_RATES) {
        for (const [name, peer] of [
          ['codeq', codeq],
          ['bullmq', bull],
          ['codeq-sdk-http', codeqSdkHttp],
          ['codeq-sdk-nats', codeqSdkNats],
        ] as const) {
          const r = await peer.latency(rate, sizes.latencySeconds);
          for (const p of ['p50', 'p95', 'p99'] as const)
            record(samples, `latency-${rate}-${p}|${name}`, r[p]);
          progress(
            `round ${round}/${rounds}  latency ${rate}/s ${name.padEnd(8)} p50 ${fmt(r.p50)} p95 ${fmt(r.p95)} p99 ${fmt(r.p99)} ms`,
          );
        }
      }
    }
    if (runs('idle')) {
      await measure(round, 'idle|codeq', () => codeq.idleCommandsPerSecond(sizes.idleSeconds));
      await measure(round, 'idle|bullmq', () => bull.idleCommandsPerSecond(sizes.idleSeconds));
    }
    if (runs('distinct')) {
      for (const k of DISTINCT_COUNTS) {
        await measure(round, `distinct-${k}|codeq`, () => codeq.processDistinct(sizes.distinct, k));
        if (k <= BULLMQ_MAX_QUEUES)
          await measure(round, `distinct-${k}|bullmq`, () => bull.processDistinct(sizes.distinct, k));
      }
    }
    if (runs('flow')) await flowRound(flow, round);
  }
  // codeq-only, after the alternating rounds so its big backlog does not sit under the other figures.
  if (runs('backlog')) {
    progress(`filling a ${sizes.bigBacklog.toLocaleString('en-US')}-task backlog (untimed for the figures)`);
    big = await fillBigBacklog(codeq, sizes.bigBacklog, progress);
    record(samples, 'mem-big|codeq', big.redisBytesPerTask);
    record(samples, 'stream-big|codeq', big.streamBytesPerTask);
    progress(
      `filled at ${fmt(big.fillRate)} tasks/s; Redis ${fmt(big.redisBytesPerTask)} B/task, stream ${fmt(big.streamBytesPerTask)} B/task`,
    );
    const engine = big.engine;
    for (let round = 1; round <= rounds; round++) {
      await measure(round, 'rebuild|codeq', () => rebuildRate(engine), sizes.bigBacklog);
      await measure(round, 'rebuild-lost|codeq', () => rebuildAfterLossRate(engine), sizes.bigBacklog);
      const c = await claimLatency(engine, Math.ceil(sizes.claimSamples / rounds));
      record(samples, 'claim-backlog|codeq', c.backlogMs);
      record(samples, 'claim-empty|codeq', c.emptyMs);
      progress(
        `round ${round}/${rounds}  claim latency: backlog ${fmt(c.backlogMs)} ms (p99 ${fmt(c.backlogP99)}), empty ${fmt(c.emptyMs)} ms (p99 ${fmt(c.emptyP99)})`,
      );
    }
  }
  if (runs('flow')) flowEngine = await flowBacklog(flow, big);
} finally {
  if (big) await big.engine.close().catch(() => undefined);
  if (flowEngine) await flowEngine.close().catch(() => undefined);
  await Promise.all([codeq.close(), codeqSdk.close(), bull.close()]);
  await nats.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

const rows = buildRows(rowSpecs(sizes), samples);
const loadEnd = loadavg();
const cpuRows = [...new Set([...cpu.keys()].map((k) => k.split('|').slice(0, 2).join('|')))].map((k) => {
  const m = (p: string) => fmt(median(cpu.get(`${k}|${p}`) ?? []));
  return `${k.padEnd(28)} node ${m('node')}  nats ${m('nats')}  redis ${m('redis')}`;
});
const machine = `${cpus().length} vCPU (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
const elapsed = (performance.now() - t0) / 1000;

const out = process.stdout;
out.write(`\ncodeq vs BullMQ ${bullmqVersion()} — ${started.toISOString()} — ${machine}\n`);
out.write(
  `command: ${command}; rounds ${rounds}; ${elapsed.toFixed(0)} s; src/ fingerprint ${srcFingerprint}\n`,
);
out.write(
  `load average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadEnd.map((l) => l.toFixed(2)).join(' ')}\n`,
);
out.write(`NATS: ${settings.nats}\nRedis: ${settings.redis}\n${settings.engine}\n\n`);
out.write(
  `${textTable(rows)}\n\nCPU µs per task (per event for rebuild), medians, timed part only:\n${cpuRows.join('\n')}\n`,
);
out.write(
  `\nInvariants over each codeq processing run's stream:\n${invariants.join('\n') || '(no processing run)'}\n`,
);
out.write(`\nMarkdown for docs/benchmarks.md:\n\n${markdownTable(rows)}\n`);

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'latest.json'),
  JSON.stringify(
    {
      date: started.toISOString(),
      machine,
      command,
      rounds,
      sizes,
      settings,
      loadStart,
      loadEnd,
      elapsedSeconds: elapsed,
      rows,
      cpu: Object.fromEntries(cpu),
      invariants,
    },
    null,
    2,
  ),
);
if (invariants.some((l) => l.includes('FAILED'))) process.exitCode = 1;

function bullmqVersion(): string {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'node_modules/bullmq/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** sha256 (12 hex digits) of every file under `dir` (paths and contents): which src/ a run measured. */
function fingerprint(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .sort();
  for (const f of files) hash.update(f).update(readFileSync(f));
  return hash.digest('hex').slice(0, 12);
}
