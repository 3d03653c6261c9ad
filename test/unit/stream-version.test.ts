import type { NatsConnection } from '@nats-io/nats-core';
import { describe, expect, it } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import {
  assertSupportedServer,
  compareVersions,
  isSupportedServerVersion,
  streamConfig,
} from '../../src/events/stream.js';

const fakeNc = (info: { version: string; jetstream?: boolean } | undefined) =>
  ({ info }) as unknown as NatsConnection;

describe('server version check', () => {
  it('compares versions numerically, not as strings', () => {
    expect(compareVersions('2.9.10', '2.9.9')).toBeGreaterThan(0);
    expect(compareVersions('2.10.1', '2.9.10')).toBeGreaterThan(0);
    expect(compareVersions('2.9.0', '2.9.0')).toBe(0);
    expect(compareVersions('2.9', '2.9.0')).toBe(0);
    expect(compareVersions('v2.9.0', '2.9.0')).toBe(0);
    expect(compareVersions('2.8.4', '2.9.0')).toBeLessThan(0);
    expect(compareVersions('2.9.0-beta.1', '2.9.0')).toBeLessThan(0);
    expect(compareVersions('3.0.0', '2.99.99')).toBeGreaterThan(0);
  });

  it.each(['2.9.0', '2.9.10', '2.10.1', '2.11.0', '3.0.0'])('accepts %s', (v) => {
    expect(isSupportedServerVersion(v)).toBe(true);
  });

  it.each(['2.8.4', '2.2.6', '1.4.1', '2.9.0-beta.3', 'garbage', ''])('refuses %s', (v) => {
    expect(isSupportedServerVersion(v)).toBe(false);
  });

  it('refuses an old server with UNSUPPORTED and says what to do', () => {
    try {
      assertSupportedServer(fakeNc({ version: '2.8.4', jetstream: true }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CodeqError);
      expect((err as CodeqError).code).toBe('UNSUPPORTED');
      expect((err as CodeqError).message).toMatch(/nats-server 2\.8\.4 is older than 2\.9; upgrade/);
    }
  });

  it('refuses a server without JetStream', () => {
    expect(() => assertSupportedServer(fakeNc({ version: '2.9.10', jetstream: false }))).toThrow(/JetStream/);
    expect(() => assertSupportedServer(fakeNc({ version: '2.9.10' }))).toThrow(CodeqError);
  });

  it('accepts 2.9.10 with JetStream, and refuses a connection without server info', () => {
    expect(() => assertSupportedServer(fakeNc({ version: '2.9.10', jetstream: true }))).not.toThrow();
    expect(() => assertSupportedServer(fakeNc(undefined))).toThrow(CodeqError);
  });
});

describe('stream configuration', () => {
  it('has the documented defaults', () => {
    const c = streamConfig();
    expect(c).toMatchObject({
      name: 'CODEQ_TASKS',
      subjects: ['codeq.task.>'],
      storage: 'file',
      num_replicas: 1,
      allow_rollup_hdrs: true,
      allow_direct: true,
      discard: 'old',
      retention: 'limits',
    });
    expect(c.max_age).toBe(7 * 24 * 3600 * 1e9);
    expect(c.duplicate_window).toBe(120 * 1e9);
  });

  it('takes options, and never lets the duplicate window exceed max age', () => {
    const c = streamConfig({ name: 'X', subjectPrefix: 'a.b', replicas: 3, maxAgeMs: 60_000 });
    expect(c).toMatchObject({ name: 'X', subjects: ['a.b.>'], num_replicas: 3 });
    expect(c.max_age).toBe(60e9);
    expect(c.duplicate_window).toBe(60e9);
  });

  it('refuses a prefix with wildcards', () => {
    expect(() => streamConfig({ subjectPrefix: 'a.*' })).toThrow(CodeqError);
    expect(() => streamConfig({ subjectPrefix: 'a.>' })).toThrow(CodeqError);
    expect(() => streamConfig({ subjectPrefix: '' })).toThrow(CodeqError);
  });
});
