/**
 * Subject naming of the event log. Every task has its own subject, `<prefix>.<command>.<taskId>`,
 * so that JetStream's per-subject expected sequence fences concurrent writers of one task. Commands
 * and task ids become subject tokens, so they are restricted to characters that can never split a
 * token (`.`), act as a wildcard (`*`, `>`) or break the protocol line (whitespace).
 */
import {
  COMMAND_MAX_LENGTH,
  COMMAND_PATTERN,
  TASK_ID_MAX_LENGTH,
  TASK_ID_PATTERN,
} from '../contract/limits.js';
import { MESSAGES } from '../contract/messages.js';
import { CodeqError } from '../errors.js';

/** The contract's command and task id rules (src/contract/limits.ts), which subjects obey. */
export { COMMAND_PATTERN, TASK_ID_PATTERN };

/** Default subject prefix of the task stream (the stream captures `codeq.task.>`). */
export const DEFAULT_SUBJECT_PREFIX = 'codeq.task';

/**
 * A valid subject prefix: one or more dot-separated tokens of `[A-Za-z0-9_-]`. No wildcards, so
 * `${prefix}.>` captures exactly the task subjects and nothing else.
 */
const SUBJECT_PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Throws `INVALID_INPUT` unless `command` matches {@link COMMAND_PATTERN}. */
export function assertValidCommand(command: unknown): asserts command is string {
  if (typeof command !== 'string' || !COMMAND_PATTERN.test(command)) {
    throw new CodeqError('INVALID_INPUT', MESSAGES.command, {
      details: {
        field: 'command',
        value: typeof command === 'string' ? command.slice(0, 200) : typeof command,
        rule: `letters, digits, _ and -, 1 to ${COMMAND_MAX_LENGTH} characters`,
      },
    });
  }
}

/** Throws `INVALID_INPUT` unless `taskId` matches {@link TASK_ID_PATTERN}. */
function assertValidTaskId(taskId: unknown): asserts taskId is string {
  if (typeof taskId !== 'string' || !TASK_ID_PATTERN.test(taskId)) {
    throw new CodeqError('INVALID_INPUT', 'invalid task id', {
      details: {
        field: 'taskId',
        value: typeof taskId === 'string' ? taskId.slice(0, 200) : typeof taskId,
        rule: `letters, digits, _ and -, 1 to ${TASK_ID_MAX_LENGTH} characters`,
      },
    });
  }
}

/** Throws `INVALID_INPUT` unless `prefix` matches {@link SUBJECT_PREFIX_PATTERN}. */
export function assertValidPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || !SUBJECT_PREFIX_PATTERN.test(prefix)) {
    throw new CodeqError('INVALID_INPUT', 'invalid subject prefix', {
      details: { field: 'subjectPrefix', value: String(prefix).slice(0, 200) },
    });
  }
}

/**
 * The subject of one task: `${prefix}.${command}.${taskId}`. Validates command and task id (two
 * regex tests, cheap enough for the hot path) so a bad token can never reach the log.
 */
export function taskSubject(prefix: string, command: string, taskId: string): string {
  assertValidCommand(command);
  assertValidTaskId(taskId);
  return `${prefix}.${command}.${taskId}`;
}

/** Subject filter matching every task of one command (for consumers and purges). */
export function commandFilter(prefix: string, command: string): string {
  assertValidCommand(command);
  return `${prefix}.${command}.*`;
}

/** The parts of a task subject. */
export interface ParsedTaskSubject {
  /** The task's command. */
  command: string;
  /** The task id. */
  taskId: string;
}

/**
 * Splits a task subject back into command and task id. Returns `undefined` for anything that is not
 * exactly `${prefix}.<command>.<taskId>` with valid tokens.
 */
export function parseTaskSubject(prefix: string, subject: string): ParsedTaskSubject | undefined {
  if (subject.length <= prefix.length + 1 || !subject.startsWith(prefix) || subject[prefix.length] !== '.') {
    return undefined;
  }
  const rest = subject.slice(prefix.length + 1);
  const dot = rest.indexOf('.');
  if (dot < 0) return undefined;
  const command = rest.slice(0, dot);
  const taskId = rest.slice(dot + 1);
  if (!COMMAND_PATTERN.test(command) || !TASK_ID_PATTERN.test(taskId)) return undefined;
  return { command, taskId };
}

/**
 * The core-NATS subject that wakes long-poll claimers of one command. It is deliberately outside
 * `${prefix}.>` (the first differing token is `<last>-wake`) so the stream never stores wake-ups.
 */
export function wakeSubject(prefix: string, command: string): string {
  assertValidCommand(command);
  return `${prefix}-wake.${command}`;
}
