/**
 * An engine in its own process that runs schedules (background loop on), for kill -9 tests:
 *
 *   node --import tsx test/support/schedule-child.ts '<json ScheduleChildOptions>'
 *
 * Prints `{"ev":"ready","pid":123}` once started, then does nothing but run ticks while it holds
 * the schedules lease. SIGTERM closes it (exit 0); SIGKILL is what the tests use.
 */
import { Engine } from '../../src/engine/engine.js';

/** The child's command-line options (one JSON argument). */
export interface ScheduleChildOptions {
  natsUrl: string;
  redisUrl: string;
  streamName: string;
  subjectPrefix: string;
  keyPrefix: string;
  sweepIntervalMs: number;
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: schedule-child.ts <json options>');
  const o = JSON.parse(raw) as ScheduleChildOptions;
  const engine = await Engine.create({
    natsServers: o.natsUrl,
    redisUrl: o.redisUrl,
    streamName: o.streamName,
    subjectPrefix: o.subjectPrefix,
    keyPrefix: o.keyPrefix,
    background: true,
    settings: { sweepIntervalMs: o.sweepIntervalMs },
  });
  process.on('SIGTERM', () => void engine.close().then(() => process.exit(0)));
  process.stdout.write(`${JSON.stringify({ ev: 'ready', pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ ev: 'error', message: String(err) })}\n`);
  process.exit(1);
});
