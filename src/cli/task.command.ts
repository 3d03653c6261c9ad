/**
 * `codeq task create|get|result|history|cancel`: the producer's side of the CLI.
 */
import { readFileSync } from 'node:fs';
import type { CreateTaskBody } from '../client/http-client.js';
import { MESSAGES } from '../contract/messages.js';
import { GROUP_KEY_PATTERN } from '../contract/queue-controls.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  parseCommandArgs,
  parseDuration,
  parseIntFlag,
  parseJsonFlag,
  requirePositional,
  taskClientFor,
  UsageError,
  type CliContext,
} from './cli-args.js';
import { formatRows, formatTable, formatTask, formatTime, printJson, printLine, truncate } from './output.js';
import { runCancelCommand } from './task-cancel.command.js';

/** Help of `codeq task`. */
const TASK_HELP = `Usage: codeq task <create|get|result|history|cancel> [options]

  create   create a task             codeq task create --command GENERATE_MASTER --payload '{"jobId":"j-1"}' --priority 7
  get      show a task               codeq task get <id>
  result   show a task's result      codeq task result <id>
  history  every event of a task     codeq task history <id>
  cancel   cancel a pending/running  codeq task cancel <id> [--reason text]
           task, or many by filter   codeq task cancel --command <name> [--state ...] [--dry-run]

Run 'codeq task <subcommand> --help' for its options.`;

const CREATE_HELP = `Usage: codeq task create --command <name> [--payload <json>] [options]

  --command, --event <name>     command (task type), required
  --payload <json>              JSON payload (default {})
  --payload-file <path>         read the payload from a file ('-' for stdin)
  --priority <0..9>             9 is claimed first (default 0)
  --max-attempts <n>            deliveries before the DLQ (default: server's, 5)
  --delay <duration>            claimable after e.g. 30s, 5m (or --delay-seconds <n>)
  --run-at <RFC3339>            claimable from this time (wins over --delay)
  --webhook <url>               result callback URL
  --idempotency-key <key>       the same key within 24 h returns the same task
  --group-key <key>             group key (a tenant, a customer): fair turns between keys, and
                                the queue's group limits count per key

${CONNECTION_HELP}`;

const CREATE_OPTIONS = {
  ...CONNECTION_OPTIONS,
  command: { type: 'string' },
  event: { type: 'string' },
  payload: { type: 'string' },
  'payload-file': { type: 'string' },
  priority: { type: 'string' },
  'max-attempts': { type: 'string' },
  delay: { type: 'string' },
  'delay-seconds': { type: 'string' },
  'run-at': { type: 'string' },
  webhook: { type: 'string' },
  'idempotency-key': { type: 'string' },
  'group-key': { type: 'string' },
} as const;

/** Turns `codeq task create` flags into the request body (exported for tests). */
export function parseCreateArgs(args: string[]): { body: CreateTaskBody; values: Record<string, unknown> } {
  const { values, positionals } = parseCommandArgs(args, CREATE_OPTIONS);
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.command && values.event && values.command !== values.event)
    throw new UsageError('--command and --event are the same flag; give one');
  const command = values.command ?? values.event;
  if (!values.help && !command)
    throw new UsageError('--command <name> is required (codeQ spelling: --event)');
  if (values.payload !== undefined && values['payload-file'] !== undefined)
    throw new UsageError('give --payload or --payload-file, not both');
  let payload: unknown = {};
  if (values.payload !== undefined) payload = parseJsonFlag(values.payload, '--payload');
  if (values['payload-file'] !== undefined) {
    const path = values['payload-file'];
    let text: string;
    try {
      text = readFileSync(path === '-' ? 0 : path, 'utf8');
    } catch (err) {
      throw new UsageError(`--payload-file: cannot read ${path}: ${(err as Error).message}`);
    }
    payload = parseJsonFlag(text, '--payload-file');
  }
  const body: CreateTaskBody = { command: command ?? '', payload };
  const priority = parseIntFlag(values.priority, '--priority', { min: 0, max: 9 });
  if (priority !== undefined) body.priority = priority;
  const maxAttempts = parseIntFlag(values['max-attempts'], '--max-attempts', { min: 1 });
  if (maxAttempts !== undefined) body.maxAttempts = maxAttempts;
  if (values.delay !== undefined && values['delay-seconds'] !== undefined)
    throw new UsageError('give --delay or --delay-seconds, not both');
  const delaySeconds =
    values.delay !== undefined
      ? Math.ceil(parseDuration(values.delay, '--delay') / 1000)
      : parseIntFlag(values['delay-seconds'], '--delay-seconds', { min: 0 });
  if (delaySeconds !== undefined) body.delaySeconds = delaySeconds;
  if (values['run-at'] !== undefined) {
    if (Number.isNaN(Date.parse(values['run-at'])))
      throw new UsageError(`--run-at: '${values['run-at']}' is not an RFC3339 time`);
    body.runAt = values['run-at'];
  }
  if (values.webhook !== undefined) body.webhook = values.webhook;
  if (values['idempotency-key'] !== undefined) body.idempotencyKey = values['idempotency-key'];
  if (values['group-key'] !== undefined) {
    if (!GROUP_KEY_PATTERN.test(values['group-key']))
      throw new UsageError(`--group-key: ${MESSAGES.groupKey}`);
    body.groupKey = values['group-key'];
  }
  return { body, values };
}

const ID_OPTIONS = { ...CONNECTION_OPTIONS, reason: { type: 'string' } } as const;

function idHelp(sub: string, what: string): string {
  return `Usage: codeq task ${sub} <id>\n\n  ${what}\n\n${CONNECTION_HELP}`;
}

/** Runs `codeq task ...`; resolves the exit code. */
export async function runTaskCommand(args: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printLine(ctx, TASK_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'create') {
    const { body, values } = parseCreateArgs(rest);
    if (values.help) return help(ctx, CREATE_HELP);
    const task = await (await taskClientFor(values, ctx)).createTask(body);
    if (values.json) printJson(ctx, task);
    else
      printLine(ctx, `created task ${task.id} (${task.command}, ${task.status}, priority ${task.priority})`);
    return 0;
  }
  if (sub === 'cancel') return runCancelCommand(rest, ctx);
  if (!['get', 'result', 'history'].includes(sub))
    throw new UsageError(`unknown subcommand 'task ${sub}' (expected create, get, result, history, cancel)`);
  const { values, positionals } = parseCommandArgs(rest, ID_OPTIONS);
  const helps: Record<string, string> = {
    get: 'Shows a task.',
    result: "Shows a task and its result (none until it's finished).",
    history: 'Shows every event of a task, in order, and the state they fold into.',
  };
  if (values.help) return help(ctx, idHelp(sub, helps[sub]!));
  if (values.reason !== undefined) throw new UsageError(`--reason is for 'task cancel' only`);
  const id = requirePositional(positionals, 0, 'id', `codeq task ${sub} <id>`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const client = await taskClientFor(values, ctx);
  if (sub === 'get') {
    const task = await client.getTask(id);
    if (values.json) printJson(ctx, task);
    else printLine(ctx, formatTask(task));
    return 0;
  }
  if (sub === 'result') {
    const answer = await client.getResult(id);
    if (values.json) printJson(ctx, answer);
    else if (!answer.result) printLine(ctx, `task ${id} is ${answer.task.status}: no result yet`);
    else {
      const r = answer.result;
      printLine(
        ctx,
        formatRows([
          ['taskId', r.taskId],
          ['status', r.status],
          ['completedAt', r.completedAt],
          ['result', r.result === undefined ? undefined : JSON.stringify(r.result)],
          ['error', r.error],
          ['artifacts', r.artifacts?.length ? r.artifacts.map((a) => a.url ?? a.name).join(', ') : undefined],
        ]),
      );
    }
    return 0;
  }
  const history = await client.history(id);
  if (values.json) printJson(ctx, history);
  else {
    const rows = history.events.map((e) => [
      e.seq,
      formatTime(e.time ?? e.at),
      e.type,
      e.actor,
      truncate(JSON.stringify(e.data), 80),
    ]);
    printLine(ctx, formatTable(['SEQ', 'AT', 'EVENT', 'ACTOR', 'DATA'], rows));
  }
  return 0;
}

function help(ctx: CliContext, text: string): number {
  printLine(ctx, text);
  return 0;
}
