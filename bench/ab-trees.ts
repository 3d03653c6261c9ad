/**
 * `npx tsx bench/ab-trees.ts <tree A> <tree B> [rounds]`: the unlimited codeq figures of two
 * checkouts (git worktrees, each with a node_modules) in ONE process on the same servers, A and B
 * alternating within each round (A B, then B A, ...), so a shared machine's load drifts over both
 * alike. Each tree's own engine and bench peer are imported from its path. Prints, per figure, each
 * round's B / A ratio and the median, and each side's CPU µs per task (node, nats-server,
 * redis-server), which moves less with the machine's load than throughput does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalServer } from '../src/local/local-servers.js';
import type { ProcessFigure } from './peers/peer.js';
import { fmt, median } from './report.js';
import { processCpuUs, selfCpuUs } from './support-cpu.js';

const [treeA, treeB, roundsArg] = process.argv.slice(2);
if (!treeA || !treeB) throw new Error('usage: npx tsx bench/ab-trees.ts <tree A> <tree B> [rounds]');
const rounds = Number(roundsArg ?? 5);

/** One side: its bench peer class, loaded from its tree. */
interface Side {
  name: string;
  peer: {
    enqueueBatched(n: number, batch: number, inFlight?: number): Promise<ProcessFigure>;
    processBacklog(n: number): Promise<ProcessFigure>;
    close(): Promise<void>;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'codeq-ab-'));
const nats = await new LocalServer({ kind: 'nats', dataDir: join(dir, 'nats') }).start();
const redis = await new LocalServer({ kind: 'redis', dataDir: join(dir, 'redis') }).start();
const probe = () => [selfCpuUs(), processCpuUs(nats.pid), processCpuUs(redis.pid)];

async function load(tree: string, via: 'engine' | 'sdk'): Promise<Side['peer']> {
  const root = resolve(tree);
  const peers = (await import(join(root, 'bench/peers/codeq.peer.ts'))) as {
    CodeqPeer: new (o: unknown) => Side['peer'];
  };
  const support = (await import(join(root, 'bench/peers/peer.ts'))) as {
    setCpuProbe: (p: () => number[]) => void;
  };
  support.setCpuProbe(probe);
  return new peers.CodeqPeer({
    engine: { natsServers: nats.url, redisUrl: redis.url, background: false },
    via,
  });
}

const figures: [string, number, (p: Side['peer']) => Promise<ProcessFigure>][] = [
  ['enqueue batched 20,000 (1,000/call)', 20_000, (p) => p.enqueueBatched(20_000, 1000)],
  ['enqueue batched 20,000, 4 in flight', 20_000, (p) => p.enqueueBatched(20_000, 1000, 4)],
  ['process 50,000, engine claim loops 16x128', 50_000, (p) => p.processBacklog(50_000)],
  ['process 50,000, SDK Worker in-process', 50_000, (p) => p.processBacklog(50_000)],
];
const sides = await Promise.all(
  [treeA, treeB].map(async (tree) => ({
    tree,
    engine: await load(tree, 'engine'),
    sdk: await load(tree, 'sdk'),
  })),
);
const values = figures.map(() => [[], []] as number[][]);
const cpu = figures.map(() => [[], []] as number[][][]);
const load0 = loadavg();
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [f, [label, n, run]] of figures.entries()) {
      const order = round % 2 === 1 ? [0, 1] : [1, 0];
      for (const s of order) {
        const side = sides[s]!;
        const r = await run(label.includes('SDK') ? side.sdk : side.engine);
        values[f]![s]!.push(r.value);
        cpu[f]![s]!.push((r.cpuUs ?? []).map((us) => us / n));
        if (r.invariants && !r.invariants.startsWith('ok')) throw new Error(`${side.tree}: ${r.invariants}`);
        process.stderr.write(`round ${round} ${label} ${s === 0 ? 'A' : 'B'} ${fmt(r.value)} ${r.unit}\n`);
      }
    }
  }
} finally {
  for (const s of sides) await Promise.all([s.engine.close(), s.sdk.close()]);
  await nats.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

const out = process.stdout;
out.write(
  `A = ${treeA}, B = ${treeB}; ${rounds} rounds; load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
for (const [f, [label]] of figures.entries()) {
  const [a, b] = values[f]!;
  const ratios = a!.map((v, i) => b![i]! / v);
  const cpuText = [0, 1]
    .map((s) => {
      const per = [0, 1, 2].map((p) => fmt(median(cpu[f]![s]!.map((c) => c[p] ?? Number.NaN))));
      return `${s === 0 ? 'A' : 'B'} node ${per[0]} nats ${per[1]} redis ${per[2]}`;
    })
    .join('; ');
  out.write(
    `${label}: A ${fmt(median(a!))}, B ${fmt(median(b!))} tasks/s; B/A per round ${ratios.map((r) => r.toFixed(2)).join(' ')}, median ${fmt(median(ratios))}; CPU µs/task ${cpuText}\n`,
  );
}
