/** URL policy, signatures and retry delays of webhooks (pure parts). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { retryDelaySeconds } from '../../src/webhooks/result-callback.consumer.js';
import { signBody, signatureHeaders, verifySignature } from '../../src/webhooks/signing.js';
import {
  assertCallbackUrl,
  parseAllowList,
  refusalReason,
  type UrlPolicy,
} from '../../src/webhooks/url-safety.js';

const policy = (entries: string[] = [], allowLoopback = false): UrlPolicy => ({
  allow: parseAllowList(entries),
  allowLoopback,
});

describe('url safety', () => {
  it('always refuses link-local and metadata destinations, even when allowed', () => {
    const open = policy(['*', '169.254.0.0/16', 'metadata.google.internal']);
    for (const ip of [
      '169.254.169.254',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      'fd00:ec2::254',
      '0.0.0.0',
    ]) {
      expect(refusalReason(ip, [ip], open), ip).toBeDefined();
    }
    expect(refusalReason('metadata.google.internal', [], open)).toMatch(/metadata/);
    expect(refusalReason('example.com', ['169.254.169.254'], open)).toMatch(/link-local/);
    expect(() => assertCallbackUrl('http://2852039166/', open)).toThrow('invalid callback url');
  });

  it('refuses private ranges unless a CIDR or exact host allows them; dev mode allows loopback', () => {
    expect(refusalReason('10.0.0.5', ['10.0.0.5'], policy())).toMatch(/private/);
    expect(refusalReason('10.0.0.5', ['10.0.0.5'], policy(['10.0.0.0/8']))).toBeUndefined();
    expect(refusalReason('hooks.internal', ['10.0.0.5'], policy(['hooks.internal']))).toBeUndefined();
    expect(refusalReason('x.internal', ['10.0.0.5'], policy(['*.internal']))).toMatch(/private/);
    expect(refusalReason('localhost', ['127.0.0.1'], policy())).toMatch(/loopback/);
    expect(refusalReason('localhost', ['127.0.0.1'], policy([], true))).toBeUndefined();
    expect(refusalReason('example.com', ['93.184.216.34'], policy())).toBeUndefined();
  });

  it('restricts to the allow-list when one is given', () => {
    const list = policy(['hooks.example.com', '*.corp.example', '203.0.113.0/24']);
    expect(refusalReason('hooks.example.com', ['93.184.216.34'], list)).toBeUndefined();
    expect(refusalReason('a.corp.example', ['93.184.216.35'], list)).toBeUndefined();
    expect(refusalReason('other.com', ['203.0.113.9'], list)).toBeUndefined();
    expect(refusalReason('other.com', ['93.184.216.36'], list)).toMatch(/not in webhookAllowedHosts/);
    expect(() => parseAllowList(['not a host!'])).toThrow(/webhookAllowedHosts/);
    expect(() => loadConfig({ env: { WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/99' } })).toThrow(
      /webhookAllowedHosts/,
    );
    expect(loadConfig({ env: { WEBHOOK_ALLOWED_HOSTS: '*, 10.0.0.0/8' } }).webhookAllowedHosts).toEqual([
      '*',
      '10.0.0.0/8',
    ]);
  });

  it('accepts only absolute http(s) URLs without credentials', () => {
    expect(assertCallbackUrl('https://hooks.example.com/x', policy()).host).toBe('hooks.example.com');
    for (const bad of ['ftp://example.com', '/relative', 'https://user:pw@example.com/', '']) {
      expect(() => assertCallbackUrl(bad, policy()), bad).toThrow('invalid callback url');
    }
  });
});

describe('signatures and retry delays', () => {
  it('signs `<timestamp>.<body>` with HMAC-SHA256 as lower-case hex', () => {
    // Reference value from: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    expect(signBody('secret', 1_700_000_000, '{"a":1}')).toBe(
      '49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686',
    );
    const headers = signatureHeaders('secret', '{"a":1}', 1_700_000_000_500);
    expect(headers['X-CodeQ-Timestamp']).toBe('1700000000');
    expect(headers['X-CodeQ-Signature']).toBe(signBody('secret', 1_700_000_000, '{"a":1}'));
    expect(
      verifySignature(
        'secret',
        '1700000000',
        headers['X-CodeQ-Signature'],
        '{"a":1}',
        300,
        1_700_000_100_000,
      ),
    ).toBe(true);
    expect(
      verifySignature(
        'secret',
        '1700000000',
        headers['X-CodeQ-Signature'],
        '{"a":2}',
        300,
        1_700_000_100_000,
      ),
    ).toBe(false);
    expect(
      verifySignature(
        'secret',
        '1700000000',
        headers['X-CodeQ-Signature'],
        '{"a":1}',
        300,
        1_700_001_000_000,
      ),
    ).toBe(false);
    expect(signatureHeaders('', 'x')).toEqual({});
  });

  it('waits min(base * 2^(i-1), max) after try i', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((i) => retryDelaySeconds(i, 2, 60))).toEqual([2, 4, 8, 16, 32, 60, 60]);
  });
});
