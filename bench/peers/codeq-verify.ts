/**
 * After a codeq processing run: reads the run's whole stream and checks the design's invariants
 * (no double lease, at most one terminal event, every enqueued task accounted for and completed
 * exactly once), with the checks of test/support/invariants.ts.
 */
import type { EventLog } from '../../src/events/event-log.js';
import {
  accountFor,
  atMostOneTerminal,
  countEvents,
  noDoubleLease,
  readStream,
} from '../../test/support/invariants.js';

/** Checks a run's stream; returns `ok (...)` or a short list of what broke. */
export async function verifyRun(source: { log: EventLog }, taskIds: readonly string[]): Promise<string> {
  const stream = await readStream(source);
  const problems: string[] = [];
  for (const report of [noDoubleLease(stream), atMostOneTerminal(stream), accountFor(stream, taskIds)]) {
    for (const v of report.violations.slice(0, 3)) problems.push(`${v.check} ${v.taskId}: ${v.message}`);
    if (report.violations.length > 3) problems.push(`... ${report.violations.length} violations in all`);
  }
  const completed = countEvents(stream, 'completed');
  const notOnce = taskIds.filter((id) => completed.get(id) !== 1).length;
  if (notOnce > 0) problems.push(`${notOnce} of ${taskIds.length} tasks not completed exactly once`);
  const claims = [...countEvents(stream, 'claimed').values()].reduce((a, b) => a + b, 0);
  if (problems.length > 0) return `FAILED: ${problems.join('; ')}`;
  return `ok (${taskIds.length} tasks, ${stream.events} events, ${claims} claims, 0 double leases, 0 lost)`;
}
