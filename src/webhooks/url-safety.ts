/**
 * Where webhooks may go. A callback URL is a request the server makes on a stranger's behalf, so
 * it must not reach what only the server can reach: cloud metadata endpoints and link-local
 * addresses are always refused; private, loopback and other internal ranges are refused unless the
 * operator allows them (`webhookAllowedHosts`; dev mode allows loopback); and an allow-list can
 * restrict callbacks to known hosts. Input checks work on the URL alone (no DNS in the request
 * path); the sender checks every resolved address again and connects to the checked one, so a DNS
 * answer that changes between check and connect cannot slip through.
 */
import { BlockList, isIP } from 'node:net';
import { CodeqError } from '../errors.js';

/** What the operator allows (from `webhookAllowedHosts` and `devMode`). */
export interface UrlPolicy {
  /** Parsed `webhookAllowedHosts`; see {@link parseAllowList}. */
  allow: AllowList;
  /** Dev mode: loopback destinations are allowed. */
  allowLoopback: boolean;
}

/** A parsed allow-list. Empty `entries` (the default) means any public host. */
export interface AllowList {
  /** `*` was listed: any public host (internal ranges still need a CIDR or exact host entry). */
  any: boolean;
  /** Exact host names (lower case), e.g. `hooks.example.com`. */
  hosts: ReadonlySet<string>;
  /** Suffixes from `*.example.com` entries, with the leading dot (`.example.com`). */
  suffixes: readonly string[];
  /** Addresses and CIDRs listed. */
  cidrs: BlockList;
  /** True when any CIDR or IP was listed. */
  hasCidrs: boolean;
  /** Number of entries given. */
  size: number;
}

/** Hosts that serve cloud instance metadata by name. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data']);

/** Always refused: link-local (incl. 169.254.169.254), metadata, unspecified, multicast, broadcast. */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('0.0.0.0', 8, 'ipv4');
FORBIDDEN.addSubnet('224.0.0.0', 4, 'ipv4');
FORBIDDEN.addSubnet('240.0.0.0', 4, 'ipv4');
FORBIDDEN.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addSubnet('ff00::', 8, 'ipv6');
FORBIDDEN.addAddress('::', 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6'); // AWS IMDS over IPv6

/** Internal ranges: refused unless allowed by a CIDR or an exact host entry. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['100.64.0.0', 10],
  ['198.18.0.0', 15],
  ['192.0.0.0', 24],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('64:ff9b::', 96, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const HOST_RE = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/;

/**
 * Parses `webhookAllowedHosts` entries: `*` (any public host), a host name (`hooks.example.com`),
 * a wildcard suffix (`*.example.com`), an IP address or a CIDR (`10.0.0.0/8`, `fd00::/8`).
 *
 * @throws CodeqError `INVALID_INPUT` naming the first bad entry.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const list = { any: false, hosts: new Set<string>(), suffixes: [] as string[], cidrs: new BlockList() };
  let hasCidrs = false;
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    const [addr, bitsText, extra] = entry.split('/');
    const family = isIP(addr ?? '');
    if (entry === '*') list.any = true;
    else if (family !== 0 && extra === undefined) {
      const max = family === 4 ? 32 : 128;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!/^\d{1,3}$/.test(bitsText ?? String(max)) || bits > max) throw badEntry(raw);
      list.cidrs.addSubnet(addr as string, bits, family === 4 ? 'ipv4' : 'ipv6');
      hasCidrs = true;
    } else if (HOST_RE.test(entry)) {
      if (entry.startsWith('*.')) list.suffixes.push(entry.slice(1));
      else list.hosts.add(entry);
    } else throw badEntry(raw);
  }
  return { ...list, hasCidrs, size: entries.length };
}

function badEntry(entry: string): CodeqError {
  return new CodeqError(
    'INVALID_INPUT',
    `invalid webhookAllowedHosts entry '${entry.slice(0, 100)}': use *, a host, *.domain, an IP or a CIDR`,
    { details: { key: 'webhookAllowedHosts' } },
  );
}

/** An IPv4-mapped IPv6 address (`::ffff:a9fe:a9fe`) as its IPv4 form; anything else unchanged. */
function unmap(ip: string): { ip: string; type: 'ipv4' | 'ipv6' } {
  const lower = ip.toLowerCase().replace(/^\[|\]$/g, '');
  const m = /^::ffff:(?:([0-9.]+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(lower);
  if (m?.[1] !== undefined && isIP(m[1]) === 4) return { ip: m[1], type: 'ipv4' };
  if (m?.[2] !== undefined && m[3] !== undefined) {
    const hi = parseInt(m[2], 16);
    const lo = parseInt(m[3], 16);
    return { ip: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, type: 'ipv4' };
  }
  return { ip: lower, type: isIP(lower) === 4 ? 'ipv4' : 'ipv6' };
}

function hostListed(allow: AllowList, host: string): 'exact' | 'suffix' | undefined {
  if (allow.hosts.has(host)) return 'exact';
  return allow.suffixes.some((s) => host.endsWith(s)) ? 'suffix' : undefined;
}

/**
 * Why a destination is refused, or `undefined` when it may be called.
 *
 * @param host - the URL's host name (lower case, IPv6 without brackets).
 * @param addresses - the addresses it resolved to (for an IP literal: itself); empty at input time
 *   for a host name, which then gets the name checks only.
 * @param policy - what the operator allows.
 */
export function refusalReason(
  host: string,
  addresses: readonly string[],
  policy: UrlPolicy,
): string | undefined {
  const { allow } = policy;
  const name = host.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(name)) return 'cloud metadata host';
  const literal = isIP(name) !== 0;
  const listed = literal ? undefined : hostListed(allow, name);
  for (const raw of addresses) {
    const { ip, type } = unmap(raw);
    if (FORBIDDEN.check(ip, type)) return `link-local, metadata or reserved address ${ip}`;
    const inCidr = allow.hasCidrs && allow.cidrs.check(ip, type);
    const restricted = allow.size > 0 && !allow.any && listed === undefined && !inCidr;
    if (restricted) return `${name} is not in webhookAllowedHosts`;
    if (PRIVATE.check(ip, type) && !inCidr && listed !== 'exact') {
      if (!(policy.allowLoopback && LOOPBACK.check(ip, type))) {
        return `private or loopback address ${ip} (allow it in webhookAllowedHosts)`;
      }
    }
  }
  if (addresses.length === 0 && allow.size > 0 && !allow.any && listed === undefined && !allow.hasCidrs) {
    return `${name} is not in webhookAllowedHosts`;
  }
  return undefined;
}

/**
 * Checks a callback URL on input: absolute `http:`/`https:`, at most 4096 characters, no
 * credentials, and not refused by {@link refusalReason} as far as the URL alone tells (an IP literal
 * is checked fully; a host name is resolved and checked again at send time).
 *
 * @returns the parsed URL.
 * @throws CodeqError `INVALID_INPUT` with message `invalid callback url` (details say why).
 */
export function assertCallbackUrl(value: unknown, policy: UrlPolicy): URL {
  const fail = (reason: string): never => {
    throw new CodeqError('INVALID_INPUT', 'invalid callback url', { details: { reason } });
  };
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) fail('not a URL');
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    return fail('not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('only http and https');
  if (url.hostname === '') fail('no host');
  if (url.username !== '' || url.password !== '') fail('credentials in the URL');
  const host = hostOf(url);
  const reason = refusalReason(host, isIP(host) !== 0 ? [host] : [], policy);
  if (reason !== undefined) fail(reason);
  return url;
}

/** A URL's host name as used for checks and DNS: lower case, IPv6 without brackets. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}
