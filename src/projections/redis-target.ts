/**
 * Where the projection lives: one Redis (`redis://`, `rediss://`) or a Redis Cluster
 * (`redis+cluster://[user:password@]host:port,host:port`, `rediss+cluster://` for TLS). Pure, so
 * the configuration can validate a URL without loading a Redis client.
 */
import { CodeqError } from '../errors.js';

/** A cluster seed node. */
export interface RedisNodeAddress {
  /** Host name or IP. */
  host: string;
  /** TCP port. */
  port: number;
}

/** A parsed Redis URL. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'cluster';
      /** Seed nodes: the client discovers the others (and the slot map) from any of them. */
      nodes: RedisNodeAddress[];
      /** ACL user name, if the URL gives one. */
      username?: string | undefined;
      /** Password, if the URL gives one. */
      password?: string | undefined;
      /** TLS to every node (`rediss+cluster://`). */
      tls: boolean;
    };

const CLUSTER_SCHEMES = ['redis+cluster:', 'rediss+cluster:'] as const;
const HOST_PORT_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

/** True when `url` names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEMES.some((s) => url.toLowerCase().startsWith(`${s}//`));
}

/**
 * Parses a comma-separated `host:port` list (the `redisClusterNodes` setting, or the host part of
 * a cluster URL). Throws `INVALID_INPUT` on an empty list or a malformed entry.
 */
export function parseClusterNodes(list: string): RedisNodeAddress[] {
  const parts = list.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new CodeqError(
      'INVALID_INPUT',
      `redis cluster nodes must be host:port[,host:port...] (got "${list}")`,
    );
  }
  return parts.map((part) => {
    const m = HOST_PORT_RE.exec(part);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65_535) {
      throw new CodeqError('INVALID_INPUT', `redis cluster node must be host:port (got "${part}")`);
    }
    return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
  });
}

/** The cluster URL of a `host:port` list (what `redisClusterNodes` becomes). */
export function clusterUrl(nodes: string): string {
  parseClusterNodes(nodes);
  return `redis+cluster://${nodes
    .split(',')
    .map((n) => n.trim())
    .join(',')}`;
}

/** Parses a Redis URL; a cluster URL is checked node by node (`INVALID_INPUT` if malformed). */
export function parseRedisTarget(url: string): RedisTarget {
  if (!isClusterUrl(url)) return { kind: 'single', url };
  const tls = url.toLowerCase().startsWith('rediss+');
  let rest = url.slice(url.indexOf('//') + 2);
  const slash = rest.indexOf('/');
  if (slash >= 0) rest = rest.slice(0, slash);
  const at = rest.lastIndexOf('@');
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth);
    if (user !== '') username = user;
    if (colon >= 0) password = decodeURIComponent(auth.slice(colon + 1));
  }
  return { kind: 'cluster', nodes: parseClusterNodes(rest), username, password, tls };
}
