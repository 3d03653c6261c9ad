/**
 * Output of the `codeq` CLI: human text by default, JSON with `--json`. Data goes to stdout,
 * diagnostics to stderr, so scripts can pipe the one and read the other.
 */
import type { QueueStats } from '../contract/views.js';
import type { TaskJson } from '../client/http-client.js';
import type { CliContext } from './cli-args.js';

/** Prints one value as a JSON line. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout(`${JSON.stringify(value)}\n`);
}

/** Prints one line of text. */
export function printLine(ctx: CliContext, line = ''): void {
  ctx.stdout(`${line}\n`);
}

/** The exact line of `codeq queue inspect`: `READY: n | DELAYED: n | IN_PROGRESS: n | DLQ: n`. */
export function formatQueueLine(stats: QueueStats): string {
  const line = `READY: ${stats.ready} | DELAYED: ${stats.delayed} | IN_PROGRESS: ${stats.inProgress} | DLQ: ${stats.dlq}`;
  // codeQ's exact line while running; a paused queue says so at the end.
  return stats.paused ? `${line} | PAUSED` : line;
}

/** A task as aligned `key: value` lines, the fields that are set only. */
export function formatTask(task: TaskJson): string {
  const rows: Array<[string, unknown]> = [
    ['id', task.id],
    ['command', task.command],
    ['status', sameState(task) ? task.status : `${task.status} (${task.state})`],
    ['priority', task.priority],
    ['attempts', `${task.attempts}/${task.maxAttempts}`],
    ['workerId', task.workerId],
    ['leaseUntil', task.leaseUntil],
    ['runAt', task.runAt],
    ['webhook', task.webhook],
    ['idempotencyKey', task.idempotencyKey],
    ['groupKey', task.groupKey],
    ['error', task.error],
    ['progress', task.progress === undefined ? undefined : `${task.progress}% at ${task.progressAt}`],
    ['progressData', task.progressData === undefined ? undefined : JSON.stringify(task.progressData)],
    ['createdAt', task.createdAt],
    ['updatedAt', task.updatedAt],
    ['payload', JSON.stringify(task.payload)],
  ];
  return formatRows(rows);
}

/** True when the machine state says no more than the public status (`inProgress` = `IN_PROGRESS`). */
function sameState(task: TaskJson): boolean {
  const norm = (v: string): string => v.replace(/[^a-z]/gi, '').toLowerCase();
  return !task.state || norm(task.state) === norm(task.status);
}

/** Aligned `key: value` lines, skipping empty values. */
export function formatRows(rows: Array<[string, unknown]>): string {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${String(v)}`).join('\n');
}

/** A plain text table with a header row; columns padded to their widest cell. */
export function formatTable(header: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Shortens text for one-line display. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Formats an event's epoch-ms (or RFC3339) time for humans. */
export function formatTime(at: unknown): string {
  if (typeof at === 'number') return new Date(at).toISOString();
  return typeof at === 'string' ? at : '';
}
