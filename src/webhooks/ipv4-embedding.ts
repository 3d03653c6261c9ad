/**
 * IPv4 addresses hidden in IPv6 ones. Many IPv6 forms reach an IPv4 host (through the kernel, a
 * translator or a tunnel), so a URL policy that looks at the IPv6 text alone can be walked around
 * with `[::ffff:0:a9fe:a9fe]` or `[64:ff9b::7f00:1]`. The URL policy checks every IPv4 address an
 * IPv6 address embeds with the same rules as a plain IPv4 address.
 */
import { isIP } from 'node:net';

/** The eight 16-bit groups of an IPv6 address, or `undefined` when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  // A zone (`fe80::1%eth0`) names an interface, not part of the address.
  let text = address
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = dotted[1] as string;
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const [head, rest] = text.split('::') as [string, string | undefined];
  const high = groups(head);
  const low = [...groups(rest ?? ''), ...tail];
  if (rest === undefined) return [...high, ...low];
  return [...high, ...new Array<number>(8 - high.length - low.length).fill(0), ...low];
}

function ipv4(high: number, low: number): string {
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * The IPv4 addresses an IPv6 address reaches or carries, `[]` for none (or for an IPv4 address):
 *
 * - IPv4-mapped `::ffff:0:0/96`, IPv4-translated (SIIT) `::ffff:0:0:0/96`, IPv4-compatible
 *   `::/96` (not `::` and `::1`, which are the unspecified and loopback addresses themselves),
 *   NAT64 `64:ff9b::/96` and local-use NAT64 `64:ff9b:1::/48`: the last 32 bits (for the
 *   local-use prefix that assumes the /96 layout; the policy treats the whole /48 as internal);
 * - 6to4 `2002::/16`: bits 16..47;
 * - Teredo `2001:0::/32`: the server (bits 32..63) and the client (the last 32 bits, inverted).
 */
export function embeddedIpv4s(address: string): string[] {
  const g = ipv6Groups(address);
  if (g === undefined) return [];
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const last = ipv4(g6, g7);
  const zeroBefore = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroBefore(5) && g5 === 0xffff) return [last];
  if (zeroBefore(4) && g4 === 0xffff && g5 === 0) return [last];
  if (zeroBefore(6) && !(g6 === 0 && g7 <= 1)) return [last];
  if (g0 === 0x64 && g1 === 0xff9b && (g2 === 1 || (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0))) {
    return [last];
  }
  if (g0 === 0x2002) return [ipv4(g1, g2)];
  if (g0 === 0x2001 && g1 === 0) return [ipv4(g2, g3), ipv4(g6 ^ 0xffff, g7 ^ 0xffff)];
  return [];
}
