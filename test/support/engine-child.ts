/**
 * An engine in its own process, for kill -9 tests:
 *
 *   node --import tsx test/support/engine-child.ts '<json ChildOptions>'
 *
 * Creates an Engine (background loop on, so it may be the elected sweeper when it dies) and runs
 * `workers` worker loops on `command`. Every `holdEvery`-th task it claims is held: heartbeated
 * and never completed, so the process always owns leases when it is killed. Prints one JSON
 * object per line on stdout:
 *
 *   {"ev":"ready","pid":123}
 *   {"ev":"claiming","w":"child-1"}
 *   {"ev":"claimed","w":"child-1","ids":["…"],"held":["…"]}
 *   {"ev":"completed","w":"child-1","id":"…"}
 *
 * With `workers: 0` it only runs the background loop and schedules (the leader of both when it
 * is the first instance). SIGTERM stops the loops and closes the engine (exit 0); SIGKILL is what
 * the tests use.
 */
import { Engine } from '../../src/engine/engine.js';
import type { BackoffSettings } from '../../src/actors/task.types.js';
import { ErrorTally, newWorkerStats, runWorker } from './workload.js';

/** The child's command-line options (one JSON argument). */
export interface ChildOptions {
  natsUrl: string;
  redisUrl: string;
  streamName: string;
  subjectPrefix: string;
  keyPrefix: string;
  command: string;
  /** Worker ids are `${workerPrefix}-${n}`. */
  workerPrefix: string;
  workers: number;
  leaseSeconds: number;
  maxWorkMs: number;
  /** Hold every n-th claimed task (heartbeat, never complete). */
  holdEvery: number;
  sweepIntervalMs?: number;
  backoff?: BackoffSettings;
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: engine-child.ts <json options>');
  const o = JSON.parse(raw) as ChildOptions;
  const engine = await Engine.create({
    natsServers: o.natsUrl,
    redisUrl: o.redisUrl,
    streamName: o.streamName,
    subjectPrefix: o.subjectPrefix,
    keyPrefix: o.keyPrefix,
    background: true,
    settings: {
      sweepIntervalMs: o.sweepIntervalMs ?? 200,
      backoff: o.backoff ?? { policy: 'fixed', baseSeconds: 1, maxSeconds: 1 },
    },
  });
  const control = { stop: false };
  const errors = new ErrorTally();
  const stats = newWorkerStats();
  let seen = 0;
  let stopped: () => void = () => undefined;
  const shutdown = (): void => {
    control.stop = true;
    stopped();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  print({ ev: 'ready', pid: process.pid });
  const loops = Array.from({ length: o.workers }, (_, n) =>
    runWorker({
      engine,
      workerId: `${o.workerPrefix}-${n + 1}`,
      command: o.command,
      leaseSeconds: o.leaseSeconds,
      maxWorkMs: o.maxWorkMs,
      control,
      errors,
      stats,
      hooks: {
        onClaimStart: (w) => print({ ev: 'claiming', w }),
        hold: () => ++seen % o.holdEvery === 0,
        onClaimed: (w, tasks, held) => print({ ev: 'claimed', w, ids: tasks.map((t) => t.id), held }),
        onCompleted: (w, id) => print({ ev: 'completed', w, id }),
      },
    }),
  );
  await Promise.all(loops);
  // Without workers the engine still runs its background loop and schedules until told to stop.
  if (o.workers === 0 && !control.stop) await new Promise<void>((resolve) => (stopped = resolve));
  await engine.close();
  print({ ev: 'closed', errors: errors.toJSON(), completed: stats.completed });
}

main().catch((err: unknown) => {
  print({ ev: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
