/**
 * Where webhooks may go. A callback URL is a request the server makes on a stranger's behalf, so
 * it must not reach what only the server can reach: cloud metadata endpoints and link-local
 * addresses are always refused; private, loopback and other internal ranges are refused unless the
 * operator allows them (`webhookAllowedHosts`; dev mode allows loopback); and an allow-list can
 * restrict callbacks to known hosts. Input checks work on the URL alone (no DNS in the request
 * path); the sender checks every resolved address again and connects to the checked one, so a DNS
 * answer that changes between check and connect cannot slip through.
 */
import { URL_MAX_LENGTH } from '../contract/limits.js';
import { MESSAGES } from '../contract/messages.js';
import { BlockList, isIP } from 'node:net';
import { CodeqError } from '../errors.js';
import { embeddedIpv4s } from './ipv4-embedding.js';

/** What the operator allows (from `webhookAllowedHosts` and `devMode`). */
export interface UrlPolicy {
  /** Parsed `webhookAllowedHosts`; see {@link parseAllowList}. */
  allow: AllowList;
  /** Dev mode: loopback destinations are allowed. */
  allowLoopback: boolean;
}

/**
 * Ports an allow-list entry allows: the port it named, or {@link ANY_PORT} for an entry without
 * one (which allows every port, as entries did before ports could be named).
 */
export type AllowedPorts = ReadonlySet<number>;

/** Port key of entries that named no port: they allow every port. */
const ANY_PORT = 0;

/** A parsed allow-list. Empty (`size` 0, the default) means any public host. */
export interface AllowList {
  /** `*` was listed: any public host (internal ranges still need a CIDR or exact host entry). */
  any: boolean;
  /** Exact host names (lower case), e.g. `hooks.example.com`, with their ports. */
  hosts: ReadonlyMap<string, AllowedPorts>;
  /** Suffixes from `*.example.com` entries, with the leading dot (`.example.com`), and their ports. */
  suffixes: ReadonlyArray<{ suffix: string; ports: AllowedPorts }>;
  /** Addresses and CIDRs listed, by the port they allow ({@link ANY_PORT}: every port). */
  cidrs: ReadonlyMap<number, BlockList>;
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
// NAT64: the well-known prefix, and the local-use one (RFC 8215) an operator runs for itself.
PRIVATE.addSubnet('64:ff9b::', 96, 'ipv6');
PRIVATE.addSubnet('64:ff9b:1::', 48, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const HOST_RE = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/;

/** Splits `target[:port]`; an IPv6 target with a port is bracketed (`[::1]:9000`). */
function splitPort(raw: string, entry: string): { target: string; port: number } {
  let target = entry;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
    if (m === null || isIP((m[1] as string).split('/')[0] as string) !== 6) throw badEntry(raw);
    [target, portText] = [m[1] as string, m[2]];
  } else if (entry.split(':').length === 2) {
    // One colon: `host:port`. More: a bare IPv6 address or CIDR, which names no port.
    [target, portText] = entry.split(':') as [string, string];
  }
  if (portText === undefined) return { target, port: ANY_PORT };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw badEntry(raw, 'port must be 1..65535');
  }
  if (target === '*') throw badEntry(raw, '* cannot name a port');
  return { target, port };
}

/**
 * Parses `webhookAllowedHosts` entries: `*` (any public host), a host name (`hooks.example.com`),
 * a wildcard suffix (`*.example.com`), an IP address or a CIDR (`10.0.0.0/8`, `fd00::/8`); each but
 * `*` may name a port (`hooks.internal:443`, `127.0.0.1:8081`, `[::1]:9000`), which then is the only
 * port it allows; an entry without a port allows every port.
 *
 * @throws CodeqError `INVALID_INPUT` naming the first bad entry (details: `key`, `entry`, `reason`).
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Map<string, Set<number>>();
  const suffixes = new Map<string, Set<number>>();
  const cidrs = new Map<number, BlockList>();
  const add = (map: Map<string, Set<number>>, key: string, port: number): void => {
    map.set(key, (map.get(key) ?? new Set<number>()).add(port));
  };
  let any = false;
  for (const raw of entries) {
    const { target, port } = splitPort(raw, raw.trim().toLowerCase());
    const [addr, bitsText, extra] = target.split('/');
    const family = isIP(addr ?? '');
    if (target === '*') any = true;
    else if (family !== 0 && extra === undefined) {
      const max = family === 4 ? 32 : 128;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!/^\d{1,3}$/.test(bitsText ?? String(max)) || bits > max) throw badEntry(raw);
      const list = cidrs.get(port) ?? new BlockList();
      list.addSubnet(addr as string, bits, family === 4 ? 'ipv4' : 'ipv6');
      cidrs.set(port, list);
    } else if (HOST_RE.test(target)) {
      if (target.startsWith('*.')) add(suffixes, target.slice(1), port);
      else add(hosts, target, port);
    } else throw badEntry(raw);
  }
  return {
    any,
    hosts,
    suffixes: [...suffixes].map(([suffix, ports]) => ({ suffix, ports })),
    cidrs,
    size: entries.length,
  };
}

function badEntry(
  entry: string,
  reason = 'use *, a host, *.domain, an IP or a CIDR, each optionally with :port',
): CodeqError {
  return new CodeqError(
    'INVALID_INPUT',
    `invalid webhookAllowedHosts entry '${entry.slice(0, 100)}': ${reason}`,
    {
      details: { key: 'webhookAllowedHosts', entry: entry.slice(0, 100), reason },
    },
  );
}

function allows(ports: AllowedPorts | undefined, port: number | undefined): boolean {
  return ports !== undefined && (ports.has(ANY_PORT) || (port !== undefined && ports.has(port)));
}

function hostListed(
  allow: AllowList,
  host: string,
  port: number | undefined,
): 'exact' | 'suffix' | undefined {
  if (allows(allow.hosts.get(host), port)) return 'exact';
  return allow.suffixes.some((s) => host.endsWith(s.suffix) && allows(s.ports, port)) ? 'suffix' : undefined;
}

/** The allow-list's address entries that may apply to `port`. */
function cidrsFor(allow: AllowList, port: number | undefined): BlockList[] {
  const lists = [allow.cidrs.get(ANY_PORT), port === undefined ? undefined : allow.cidrs.get(port)];
  return lists.filter((l): l is BlockList => l !== undefined);
}

/** An address as the list of addresses to check: itself, then every IPv4 address it embeds. */
function views(address: string): Array<{ ip: string; type: 'ipv4' | 'ipv6' }> {
  const ip = address.toLowerCase().replace(/^\[|\]$/g, '');
  const self = { ip, type: isIP(ip) === 4 ? ('ipv4' as const) : ('ipv6' as const) };
  return [self, ...embeddedIpv4s(ip).map((v4) => ({ ip: v4, type: 'ipv4' as const }))];
}

/**
 * Why a destination is refused, or `undefined` when it may be called. Every address is checked
 * together with each IPv4 address it embeds ({@link embeddedIpv4s}): all of them must pass.
 *
 * @param host - the URL's host name (lower case, IPv6 without brackets).
 * @param addresses - the addresses it resolved to (for an IP literal: itself); empty at input time
 *   for a host name, which then gets the name checks only.
 * @param policy - what the operator allows.
 * @param port - the port called (the scheme's default when the URL names none); when omitted, only
 *   allow-list entries without a port apply.
 */
export function refusalReason(
  host: string,
  addresses: readonly string[],
  policy: UrlPolicy,
  port?: number,
): string | undefined {
  const { allow } = policy;
  const name = host.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(name)) return 'cloud metadata host';
  const literal = isIP(name) !== 0;
  const listed = literal ? undefined : hostListed(allow, name, port);
  const cidrs = cidrsFor(allow, port);
  const restricted = allow.size > 0 && !allow.any && listed === undefined;
  for (const address of addresses) {
    const checks = views(address).map((v) => ({ ...v, inCidr: cidrs.some((c) => c.check(v.ip, v.type)) }));
    for (const { ip, type } of checks) {
      if (FORBIDDEN.check(ip, type)) return `link-local, metadata or reserved address ${ip}`;
    }
    if (restricted && !checks.some((c) => c.inCidr)) return `${name} is not in webhookAllowedHosts`;
    // Each internal address (the IPv6 one and what it embeds) needs its own permission, so that
    // allowing e.g. the NAT64 range does not allow the private IPv4 addresses behind it.
    for (const { ip, type, inCidr } of checks) {
      if (!PRIVATE.check(ip, type) || inCidr || listed === 'exact') continue;
      if (!(policy.allowLoopback && LOOPBACK.check(ip, type))) {
        return `private or loopback address ${ip} (allow it in webhookAllowedHosts)`;
      }
    }
  }
  if (addresses.length === 0 && restricted && cidrs.length === 0) {
    return `${name} is not in webhookAllowedHosts`;
  }
  return undefined;
}

/**
 * Why a value is not a usable webhook URL by its text alone, or `undefined`: it must be an absolute
 * `http:`/`https:` URL of at most `URL_MAX_LENGTH` (4096) characters with a host and without credentials (codeq never
 * sends a user name or password to a receiver). The one rule for task webhooks (engine and HTTP
 * enqueue), subscription callbacks and the sender.
 */
export function webhookUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > URL_MAX_LENGTH) return 'not a URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https';
  if (url.hostname === '') return 'no host';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL';
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
    throw new CodeqError('INVALID_INPUT', MESSAGES.callbackUrl, { details: { reason } });
  };
  const problem = webhookUrlProblem(value);
  if (problem !== undefined) fail(problem);
  const url = new URL(value as string);
  const host = hostOf(url);
  const reason = refusalReason(host, isIP(host) !== 0 ? [host] : [], policy, portOf(url));
  if (reason !== undefined) fail(reason);
  return url;
}

/** A URL's host name as used for checks and DNS: lower case, IPv6 without brackets. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

/** The port a URL calls: its own, else the scheme's default (443 for https, 80 otherwise). */
export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}
