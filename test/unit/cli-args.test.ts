import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCodeForStatus } from '../../src/client/http-request.js';
import {
  parseDuration,
  parseIntFlag,
  parseList,
  resolveConnection,
  clientFor,
  UsageError,
  type CliContext,
} from '../../src/cli/cli-args.js';
import { parseFromTime } from '../../src/cli/events.command.js';
import { formatQueueLine } from '../../src/cli/output.js';
import { parseCreateArgs } from '../../src/cli/task.command.js';
import { parseWorkerArgs } from '../../src/cli/worker.command.js';
import { parseOutput } from '../../src/cli/worker-runner.js';
import { runQueueCommand } from '../../src/cli/queue.command.js';
import { usageMessage } from '../support/assertions.js';

describe('durations', () => {
  it('parses ms, s, m, h and bare seconds', () => {
    expect(parseDuration('500ms', '--x')).toBe(500);
    expect(parseDuration('1s', '--x')).toBe(1000);
    expect(parseDuration('1.5s', '--x')).toBe(1500);
    expect(parseDuration('2m', '--x')).toBe(120_000);
    expect(parseDuration('1h', '--x')).toBe(3_600_000);
    expect(parseDuration('3', '--x')).toBe(3000);
  });
  it('rejects nonsense naming the flag', () => {
    expect(usageMessage(() => parseDuration('1x', '--poll-interval'))).toMatch(
      /--poll-interval: invalid duration '1x'/,
    );
    expect(usageMessage(() => parseDuration('-1s', '--nack-delay'))).toMatch(/--nack-delay/);
  });
});

describe('numbers and lists', () => {
  it('checks whole numbers and ranges', () => {
    expect(parseIntFlag(undefined, '--n')).toBeUndefined();
    expect(parseIntFlag('7', '--priority', { min: 0, max: 9 })).toBe(7);
    expect(usageMessage(() => parseIntFlag('10', '--priority', { min: 0, max: 9 }))).toBe(
      '--priority: must be <= 9',
    );
    expect(usageMessage(() => parseIntFlag('1.5', '--concurrency'))).toMatch(/not a whole number/);
  });
  it('joins repeated and comma-separated values without duplicates', () => {
    expect(parseList(['A,B', 'C'], undefined, 'B , D')).toEqual(['A', 'B', 'C', 'D']);
  });
});

describe('task create', () => {
  it('accepts --command and codeQ spelling --event', () => {
    const a = parseCreateArgs([
      '--command',
      'GENERATE_MASTER',
      '--payload',
      '{"jobId":"j-1"}',
      '--priority',
      '7',
    ]);
    expect(a.body).toEqual({ command: 'GENERATE_MASTER', payload: { jobId: 'j-1' }, priority: 7 });
    const b = parseCreateArgs(['--event', 'GENERATE_MASTER', '--delay', '1m', '--max-attempts', '3']);
    expect(b.body).toEqual({ command: 'GENERATE_MASTER', payload: {}, delaySeconds: 60, maxAttempts: 3 });
  });
  it('reports missing command, bad JSON and unknown flags as usage errors', () => {
    expect(usageMessage(() => parseCreateArgs(['--payload', '{}']))).toMatch(/--command <name> is required/);
    expect(usageMessage(() => parseCreateArgs(['--command', 'X', '--payload', '{nope']))).toMatch(
      /--payload: not valid JSON/,
    );
    expect(usageMessage(() => parseCreateArgs(['--command', 'X', '--colour']))).toMatch(
      /Unknown option '--colour'/,
    );
    expect(usageMessage(() => parseCreateArgs(['--command', 'X', '--run-at', 'tomorrow']))).toMatch(
      /RFC3339/,
    );
  });
});

describe('worker start', () => {
  it('accepts both spellings of commands and of the wait', () => {
    const a = parseWorkerArgs(['--commands', 'A,B', '--poll-interval', '1s', '--run', 'cat']);
    expect(a.options).toMatchObject({ commands: ['A', 'B'], waitSeconds: 1, handler: { shell: 'cat' } });
    const b = parseWorkerArgs(['--events', 'A', '--event', 'C', '--wait-seconds', '5', '--', 'wc', '-c']);
    expect(b.options).toMatchObject({
      commands: ['A', 'C'],
      waitSeconds: 5,
      handler: { argv: ['wc', '-c'] },
    });
    expect(parseWorkerArgs(['--poll-interval', '500ms']).options.waitSeconds).toBe(1);
  });
  it('reads codeQ flags', () => {
    const { options } = parseWorkerArgs([
      '--command',
      'X',
      '--concurrency',
      '8',
      '--lease-seconds',
      '60',
      '--ack',
      'nack',
      '--nack-delay',
      '10s',
      '--max-tasks',
      '100',
    ]);
    expect(options).toEqual({
      commands: ['X'],
      concurrency: 8,
      leaseSeconds: 60,
      waitSeconds: 20,
      ack: 'nack',
      nackDelaySeconds: 10,
      maxTasks: 100,
    });
  });
  it('rejects conflicting or invalid flags', () => {
    expect(usageMessage(() => parseWorkerArgs(['--ack', 'maybe']))).toMatch(/--ack: 'maybe' is not one of/);
    expect(usageMessage(() => parseWorkerArgs(['--wait-seconds', '1', '--poll-interval', '1s']))).toMatch(
      /give one/,
    );
    expect(usageMessage(() => parseWorkerArgs(['--wait-seconds', '31']))).toMatch(/<= 30/);
    expect(usageMessage(() => parseWorkerArgs(['--run', 'cat', '--', 'cat']))).toMatch(/not both/);
    expect(usageMessage(() => parseWorkerArgs(['--concurrency', '0']))).toMatch(/>= 1/);
  });
  it('keeps stdout as JSON when it is JSON', () => {
    expect(parseOutput('{"a":1}\n')).toEqual({ a: 1 });
    expect(parseOutput('hello\n')).toBe('hello');
  });
});

describe('connection settings', () => {
  const dirs: string[] = [];
  /** A temporary directory, removed after these tests. */
  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('takes flags over env over profile', () => {
    const dir = tempDir('codeq-profile-');
    const profile = join(dir, 'p.yaml');
    writeFileSync(profile, 'baseUrl: http://profile:1\ntokens:\n  producer: p-prof\n  admin: a-prof\n');
    const env = { CODEQ_PRODUCER_TOKEN: 'p-env' };
    const c = resolveConnection({ profile }, env);
    expect(c).toEqual({
      baseUrl: 'http://profile:1',
      natsUrl: undefined,
      natsPrefix: 'codeq',
      tokens: { producer: 'p-env', worker: undefined, admin: 'a-prof' },
    });
    const d = resolveConnection(
      { profile, 'base-url': 'http://flag:2', token: 't' },
      { CODEQ_BASE_URL: 'http://env:3' },
    );
    expect(d).toMatchObject({ baseUrl: 'http://flag:2', tokens: { producer: 't', worker: 't', admin: 't' } });
  });
  it('reads the default profile from the home directory, JSON too', () => {
    const home = tempDir('codeq-home-');
    expect(resolveConnection({}, {}, home).baseUrl).toBe('http://127.0.0.1:8080');
    mkdirSync(join(home, '.codeq'));
    writeFileSync(join(home, '.codeq', 'profile.json'), '{"baseUrl":"http://json:9","token":"all"}');
    expect(resolveConnection({}, {}, home)).toMatchObject({
      baseUrl: 'http://json:9',
      tokens: { producer: 'all', worker: 'all', admin: 'all' },
    });
  });
  it('--nats-url over CODEQ_NATS_URL over the profile; HTTP-only commands refuse the flag', () => {
    const env = { CODEQ_NATS_URL: 'nats://env:4222', CODEQ_NATS_PREFIX: 'p1' };
    expect(resolveConnection({}, env)).toMatchObject({ natsUrl: 'nats://env:4222', natsPrefix: 'p1' });
    expect(resolveConnection({ 'nats-url': 'nats://flag:1' }, env).natsUrl).toBe('nats://flag:1');
    const ctx = { env, stdout: () => undefined, stderr: () => undefined };
    // The environment alone leaves an admin command on HTTP; the flag is a usage error.
    expect(clientFor({}, ctx).url).toBe('http://127.0.0.1:8080');
    expect(usageMessage(() => clientFor({ 'nats-url': 'nats://flag:1' }, ctx))).toMatch(/HTTP only/);
  });
  it('reports a missing explicit profile and a bad URL', () => {
    expect(usageMessage(() => resolveConnection({ profile: '/nonexistent/p.json' }, {}))).toMatch(
      /--profile: cannot read/,
    );
    expect(usageMessage(() => resolveConnection({ 'base-url': 'ftp://x' }, {}))).toMatch(/invalid base URL/);
  });
});

describe('output and errors', () => {
  it('prints the queue line exactly', () => {
    expect(
      formatQueueLine({ command: 'X', ready: 3, delayed: 1, inProgress: 2, dlq: 0, paused: false }),
    ).toBe('READY: 3 | DELAYED: 1 | IN_PROGRESS: 2 | DLQ: 0');
  });
  it('maps HTTP statuses to error codes', () => {
    expect(errorCodeForStatus(400, 'invalid body')).toBe('INVALID_INPUT');
    expect(errorCodeForStatus(401, 'unauthorized')).toBe('UNAUTHORIZED');
    expect(errorCodeForStatus(403, 'not-owner')).toBe('NOT_OWNER');
    expect(errorCodeForStatus(403, 'event type not allowed')).toBe('INVALID_INPUT');
    expect(errorCodeForStatus(404, 'not found')).toBe('NOT_FOUND');
    expect(errorCodeForStatus(409, 'not-in-progress')).toBe('WRONG_STATE');
    expect(errorCodeForStatus(503, 'unavailable')).toBe('UNAVAILABLE');
    // codeQ's auth words (src/contract/messages.ts AUTH_MESSAGES): refusals, except the key outage.
    expect(errorCodeForStatus(401, 'unauthorized. Admin only')).toBe('UNAUTHORIZED');
    expect(errorCodeForStatus(401, 'token expired')).toBe('UNAUTHORIZED');
    expect(errorCodeForStatus(403, 'missing scope')).toBe('INVALID_INPUT');
    expect(errorCodeForStatus(503, 'jwks fetch error')).toBe('UNAVAILABLE');
  });
  it('runs queue inspect against an injected server answer', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = {
      env: {},
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      homeDir: tmpdir(),
    };
    // No server: a usage mistake is caught before any request.
    await expect(runQueueCommand(['inspect'], ctx)).rejects.toBeInstanceOf(UsageError);
    expect(await runQueueCommand(['--help'], ctx)).toBe(0);
    expect(out.join('')).toMatch(/READY: n \| DELAYED: n/);
  });
  it('resolves --from-time durations and times', () => {
    expect(parseFromTime('10m', Date.parse('2024-01-01T00:10:00Z'))).toBe('2024-01-01T00:00:00.000Z');
    expect(parseFromTime('2024-05-01T10:00:00+02:00')).toBe('2024-05-01T08:00:00.000Z');
    expect(usageMessage(() => parseFromTime('yesterday'))).toMatch(/--from-time/);
  });
});
