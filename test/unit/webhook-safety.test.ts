/** URL policy, signatures and retry delays of webhooks (pure parts). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { retryDelaySeconds } from '../../src/webhooks/result-callback.consumer.js';
import { signBody, signatureHeaders, verifySignature } from '../../src/webhooks/signing.js';
import {
  assertCallbackUrl,
  parseAllowList,
  refusalReason,
  webhookUrlProblem,
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

describe('url safety: IPv4 embedded in IPv6', () => {
  // Every one of these reaches an IPv4 address the policy refuses (loopback or link-local/metadata).
  const EMBEDDED_LOOPBACK = [
    '::127.0.0.1', // IPv4-compatible
    '::7f00:1',
    '::ffff:0:127.0.0.1', // IPv4-translated (SIIT)
    '::ffff:7f00:1', // IPv4-mapped
    '::ffff:127.0.0.1',
    '2002:7f00:1::1', // 6to4
    '64:ff9b::7f00:1', // NAT64 well-known prefix
    '64:ff9b:1::7f00:1', // NAT64 local-use prefix
    '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo: client 127.0.0.1 (stored inverted)
    '2001:0:7f00:1::', // Teredo: server 127.0.0.1
  ];
  const EMBEDDED_METADATA = [
    '::a9fe:a9fe',
    '::169.254.169.254',
    '::ffff:0:a9fe:a9fe',
    '::ffff:0:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '2002:a9fe:a9fe::1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b:1::a9fe:a9fe',
    '2001:0:a9fe:a9fe::1',
    '2001:0:4136:e378:8000:63bf:5601:5601', // Teredo client 169.254.169.254
  ];

  it('refuses every embedded loopback or link-local form, as a URL literal and as a resolved address', () => {
    for (const ip of [...EMBEDDED_LOOPBACK, ...EMBEDDED_METADATA]) {
      expect(() => assertCallbackUrl(`http://[${ip}]:8080/hook`, policy()), ip).toThrow(
        'invalid callback url',
      );
      expect(() => assertCallbackUrl(`http://[${ip}]/hook`, policy(['*'])), ip).toThrow(
        'invalid callback url',
      );
      expect(refusalReason('hooks.example.com', [ip], policy()), ip).toBeDefined();
    }
  });

  it('refuses embedded link-local and metadata addresses even when every range is allowed', () => {
    const open = policy(['*', '::/0', '0.0.0.0/0', '64:ff9b::/96', '2002::/16'], true);
    for (const ip of EMBEDDED_METADATA) {
      expect(refusalReason(ip, [ip], open), ip).toMatch(/link-local/);
      expect(refusalReason('hooks.example.com', [ip], open), ip).toMatch(/link-local/);
    }
  });

  it('an allowed IPv6 range does not allow the private IPv4 it embeds', () => {
    const nat64 = policy(['64:ff9b::/96']);
    expect(refusalReason('64:ff9b::5db8:d822', ['64:ff9b::5db8:d822'], nat64)).toBeUndefined();
    expect(refusalReason('64:ff9b::a00:5', ['64:ff9b::a00:5'], nat64)).toMatch(/private.*10\.0\.0\.5/);
    expect(refusalReason('2002:a00:5::1', ['2002:a00:5::1'], policy())).toMatch(/private.*10\.0\.0\.5/);
    // An IPv4 CIDR covers its mapped forms too.
    expect(refusalReason('::ffff:a00:5', ['::ffff:a00:5'], policy(['10.0.0.0/8']))).toBeUndefined();
  });

  it('still allows public IPv6 and public IPv4 in IPv6 forms', () => {
    for (const ip of [
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
      '2a00:1450:4001:80b::200e',
      '::ffff:5db8:d822', // 93.184.216.34
      '2002:5db8:d822::1',
      '2001:0:4136:e378:8000:63bf:a247:27dd', // Teredo, client 93.184.216.34
    ]) {
      expect(refusalReason(ip, [ip], policy()), ip).toBeUndefined();
      expect(assertCallbackUrl(`https://[${ip}]/hook`, policy()).protocol, ip).toBe('https:');
    }
    expect(refusalReason('::1', ['::1'], policy([], true))).toBeUndefined();
  });
});

describe('url safety: allow-list entries with a port', () => {
  it('an entry with a port allows that port only', () => {
    const p = policy(['127.0.0.1:8081', '[::1]:9000', 'hooks.internal:443', '*.corp.example:8443']);
    expect(assertCallbackUrl('http://127.0.0.1:8081/x', p).port).toBe('8081');
    expect(() => assertCallbackUrl('http://127.0.0.1:8082/x', p)).toThrow('invalid callback url');
    expect(() => assertCallbackUrl('http://127.0.0.1/x', p)).toThrow('invalid callback url');
    expect(assertCallbackUrl('http://[::1]:9000/x', p).port).toBe('9000');
    expect(() => assertCallbackUrl('http://[::1]:9001/x', p)).toThrow('invalid callback url');
    expect(refusalReason('hooks.internal', ['10.0.0.5'], p, 443)).toBeUndefined();
    expect(refusalReason('hooks.internal', ['10.0.0.5'], p, 8443)).toMatch(/not in webhookAllowedHosts/);
    expect(assertCallbackUrl('https://hooks.internal/x', p).host).toBe('hooks.internal');
    expect(() => assertCallbackUrl('http://hooks.internal/x', p)).toThrow('invalid callback url');
    expect(refusalReason('a.corp.example', ['93.184.216.34'], p, 8443)).toBeUndefined();
    expect(refusalReason('a.corp.example', ['93.184.216.34'], p, 443)).toMatch(/not in webhookAllowedHosts/);
  });

  it('CIDR entries may name a port too (IPv6 in brackets)', () => {
    const p = policy(['10.0.0.0/8:8080', '[fd00::/8]:8443', '[::1]']);
    expect(refusalReason('10.1.2.3', ['10.1.2.3'], p, 8080)).toBeUndefined();
    expect(refusalReason('10.1.2.3', ['10.1.2.3'], p, 8081)).toMatch(/not in webhookAllowedHosts/);
    expect(refusalReason('fd00::5', ['fd00::5'], p, 8443)).toBeUndefined();
    expect(refusalReason('fd00::5', ['fd00::5'], p, 443)).toMatch(/not in webhookAllowedHosts/);
    expect(refusalReason('::1', ['::1'], p, 1234)).toBeUndefined();
    // Without the port known, only entries without a port apply.
    expect(refusalReason('10.1.2.3', ['10.1.2.3'], p)).toMatch(/not in webhookAllowedHosts/);
  });

  it('an entry without a port allows every port (as before)', () => {
    const p = policy(['127.0.0.1', 'hooks.internal', '10.0.0.0/8']);
    for (const port of [80, 443, 8081, 65535]) {
      expect(refusalReason('127.0.0.1', ['127.0.0.1'], p, port)).toBeUndefined();
      expect(refusalReason('hooks.internal', ['192.168.1.1'], p, port)).toBeUndefined();
      expect(refusalReason('10.1.2.3', ['10.1.2.3'], p, port)).toBeUndefined();
    }
  });

  it('refuses bad ports and port entries it cannot read, in config too', () => {
    for (const bad of [
      '127.0.0.1:0',
      '127.0.0.1:65536',
      'hooks.internal:http',
      '[::1]:',
      '[::1',
      '*:443',
      'a:1:2',
    ]) {
      expect(() => parseAllowList([bad]), bad).toThrow(/webhookAllowedHosts/);
    }
    expect(() => loadConfig({ env: { WEBHOOK_ALLOWED_HOSTS: 'hooks.internal:99999' } })).toThrow(
      /webhookAllowedHosts.*port/,
    );
    expect(
      loadConfig({ env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1:8081, [::1]:9000,hooks.internal:443' } })
        .webhookAllowedHosts,
    ).toEqual(['127.0.0.1:8081', '[::1]:9000', 'hooks.internal:443']);
  });
});

describe('url safety: credentials', () => {
  it('one rule refuses credentials in task webhooks and subscription callbacks', () => {
    for (const url of [
      'http://user:secret@hooks.example.com/x',
      'https://user@hooks.example.com/',
      'http://:pw@h.example/',
    ]) {
      expect(webhookUrlProblem(url), url).toBe('credentials in the URL');
      expect(() => assertCallbackUrl(url, policy()), url).toThrow('invalid callback url');
    }
    expect(webhookUrlProblem('https://hooks.example.com/x')).toBeUndefined();
    expect(webhookUrlProblem('ftp://hooks.example.com/x')).toBe('only http and https');
    expect(webhookUrlProblem(`https://h.example/${'x'.repeat(4096)}`)).toBe('not a URL');
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
