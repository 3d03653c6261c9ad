import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodeqError } from '../../src/errors.js';
import { keySlot } from '../../src/projections/redis-slots.js';
import { clusterUrl, parseRedisTarget } from '../../src/projections/redis-target.js';

// ioredis's own slot function (its dependency), as the reference for ours.
const referenceSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

describe('keySlot', () => {
  it('matches the Redis Cluster spec examples and hash tags', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('codeq:{cmd}:ready')).toBe(keySlot('cmd'));
    // An empty tag is no tag: the whole key is hashed (Redis 7.0 CLUSTER KEYSLOT says 8363;
    // cluster-key-slot disagrees on this edge case, hence not compared below).
    expect(keySlot('foo{}{bar}')).toBe(8363);
    expect(keySlot('a{}b}{c}')).toBe(12780);
  });

  it('agrees with cluster-key-slot on any key without an empty tag', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }).filter((key) => !/\{\}/.test(key)),
        (key) => keySlot(key) === referenceSlot(key),
      ),
      { numRuns: 2000 },
    );
  });
});

describe('parseRedisTarget', () => {
  it('keeps single-Redis URLs as they are', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379/0')).toEqual({
      kind: 'single',
      url: 'redis://127.0.0.1:6379/0',
    });
  });

  it('reads a cluster URL: nodes, credentials, TLS', () => {
    expect(parseRedisTarget('rediss+cluster://user:p%40ss@h1:7000,[::1]:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'user',
      password: 'p@ss',
      tls: true,
    });
    expect(parseRedisTarget('redis+cluster://h1:7000')).toMatchObject({ kind: 'cluster', tls: false });
    expect(clusterUrl(' a:1 , b:2 ')).toBe('redis+cluster://a:1,b:2');
  });

  it.each(['redis+cluster://', 'redis+cluster://h1', 'redis+cluster://h1:0', 'redis+cluster://h1:1,,h2:2'])(
    'refuses %s',
    (url) => {
      expect(() => parseRedisTarget(url)).toThrow(CodeqError);
    },
  );
});
