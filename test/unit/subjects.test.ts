import { describe, expect, it } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import {
  assertValidCommand,
  COMMAND_PATTERN,
  DEFAULT_SUBJECT_PREFIX,
  parseTaskSubject,
  taskSubject,
  wakeSubject,
} from '../../src/events/subjects.js';

/** NATS subject matching (`*` one token, `>` the rest), to prove what a stream filter captures. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodeqError ? err.code : 'not a CodeqError';
  }
  return undefined;
}

describe('command names', () => {
  it.each(['a', 'send-email', 'SEND_EMAIL', 'x'.repeat(128), 'A-z_0-9'])('accepts %s', (command) => {
    expect(() => assertValidCommand(command)).not.toThrow();
    expect(COMMAND_PATTERN.test(command)).toBe(true);
  });

  it.each([
    ['a dot', 'a.b'],
    ['a space', 'a b'],
    ['a star wildcard', 'a*'],
    ['a tail wildcard', '>'],
    ['an empty string', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a tab', 'a\tb'],
    ['non-ASCII', 'tâche'],
  ])('refuses %s with INVALID_INPUT', (_label, command) => {
    expect(codeOf(() => assertValidCommand(command))).toBe('INVALID_INPUT');
  });

  it.each([undefined, null, 42, {}, ['a']])('refuses non-string %s', (command) => {
    expect(codeOf(() => assertValidCommand(command))).toBe('INVALID_INPUT');
  });

  it('names the problem in the error', () => {
    try {
      assertValidCommand('a.b');
      expect.unreachable();
    } catch (err) {
      expect((err as CodeqError).message).toBe('invalid command');
      expect((err as CodeqError).details).toMatchObject({ field: 'command', value: 'a.b' });
    }
  });
});

describe('task subjects', () => {
  const id = '0b6f3c1e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

  it('builds and parses prefix.command.taskId', () => {
    const subject = taskSubject(DEFAULT_SUBJECT_PREFIX, 'send-email', id);
    expect(subject).toBe(`codeq.task.send-email.${id}`);
    expect(parseTaskSubject(DEFAULT_SUBJECT_PREFIX, subject)).toEqual({ command: 'send-email', taskId: id });
    expect(matches(`${DEFAULT_SUBJECT_PREFIX}.>`, subject)).toBe(true);
  });

  it('refuses bad commands and task ids when building', () => {
    expect(codeOf(() => taskSubject('codeq.task', 'a.b', id))).toBe('INVALID_INPUT');
    expect(codeOf(() => taskSubject('codeq.task', 'cmd', 'x.y'))).toBe('INVALID_INPUT');
    expect(codeOf(() => taskSubject('codeq.task', 'cmd', '*'))).toBe('INVALID_INPUT');
    expect(codeOf(() => taskSubject('codeq.task', 'cmd', ''))).toBe('INVALID_INPUT');
  });

  it.each([
    'codeq.task',
    'codeq.task.cmd',
    'codeq.task.cmd.id.extra',
    'codeq.taskx.cmd.id',
    'other.task.cmd.id',
    'codeq.task..id',
    'codeq.task.c*.id',
  ])('parse returns undefined for %s', (subject) => {
    expect(parseTaskSubject('codeq.task', subject)).toBeUndefined();
  });

  it('works with a custom multi-token prefix', () => {
    const subject = taskSubject('acme.prod.tasks', 'cmd', 't1');
    expect(parseTaskSubject('acme.prod.tasks', subject)).toEqual({ command: 'cmd', taskId: 't1' });
    expect(parseTaskSubject('acme.prod', subject)).toBeUndefined();
  });
});

describe('wake subjects', () => {
  it('are outside the stream filter and per command', () => {
    for (const prefix of ['codeq.task', 'acme.tasks']) {
      const wake = wakeSubject(prefix, 'send-email');
      expect(matches(`${prefix}.>`, wake)).toBe(false);
      expect(wake).not.toBe(wakeSubject(prefix, 'other'));
      expect(parseTaskSubject(prefix, wake)).toBeUndefined();
    }
    expect(wakeSubject('codeq.task', 'cmd')).toBe('codeq.task-wake.cmd');
  });

  it('validate the command', () => {
    expect(codeOf(() => wakeSubject('codeq.task', '>'))).toBe('INVALID_INPUT');
  });
});
