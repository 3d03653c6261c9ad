/**
 * A private Redis Cluster for tests: N masters (and optionally one replica each) on free loopback
 * ports, created with `redis-cli --cluster create`, that a test may kill -9 node by node.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { LocalServer } from '../../src/local/local-servers.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters; default 3 (the fewest Redis Cluster accepts). */
  masters?: number;
  /** Replicas per master; default 0. */
  replicas?: number;
  /**
   * `cluster-node-timeout`, ms; default 1000: a killed master is noticed (and its replica promoted)
   * about this long after the kill.
   */
  nodeTimeoutMs?: number;
}

/** A running test cluster. */
export interface TestRedisCluster {
  /** Every node, masters first as created (roles change after a failover). */
  nodes: LocalServer[];
  /** `redis+cluster://127.0.0.1:P,...` (every node as a seed). */
  url: string;
  /** The node serving `slot` as master now (asked of a running node). */
  masterOf(slot: number): Promise<LocalServer>;
  /** The nodes that are masters now. */
  masters(): Promise<LocalServer[]>;
  /**
   * Waits until every running node reports `cluster_state:ok`, all slots are served by running
   * masters and every running replica is in sync with its master.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every master. */
  flushAll(): Promise<void>;
  /** Stops every node and removes the data. */
  close(): Promise<void>;
}

/** One short-lived connection to a node (no reconnects: a dead node fails at once). */
async function withNode<T>(node: LocalServer, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(node.listenPort, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

/** Starts a cluster and waits until it serves every slot. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'codeq-cluster-'));
  const nodes: LocalServer[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const node = new LocalServer({
        kind: 'redis',
        dataDir: join(dir, `node-${i}`),
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(options.nodeTimeoutMs ?? 1000),
          // Replicas sync at once (the default waits 5 s for more replicas to share one transfer):
          // a replica that never synced refuses to take over.
          '--repl-diskless-sync-delay',
          '0',
          '--logfile',
          'redis.log',
        ],
      });
      nodes.push(node);
    }
    await Promise.all(nodes.map((n) => n.start()));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.listenPort}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
  } catch (err) {
    await close();
    throw err;
  }

  const byPort = (port: number): LocalServer => {
    const node = nodes.find((n) => n.listenPort === port);
    if (!node) throw new Error(`no test node on port ${port}`);
    return node;
  };
  const anyRunning = (): LocalServer => {
    const node = nodes.find((n) => n.running);
    if (!node) throw new Error('no cluster node is running');
    return node;
  };
  const slotRanges = async (): Promise<[number, number, number][]> =>
    withNode(anyRunning(), async (r) => {
      const slots = (await r.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      return slots.map(([from, to, master]) => [from, to, master[1]]);
    });

  const cluster: TestRedisCluster = {
    nodes,
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.listenPort}`).join(',')}`,
    async masterOf(slot) {
      const range = (await slotRanges()).find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return byPort(range[2]);
    },
    async masters() {
      return [...new Set((await slotRanges()).map(([, , port]) => port))].map(byPort);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          nodes.filter((n) => n.running).map((n) => withNode(n, (r) => r.cluster('INFO')).catch(() => '')),
        );
        const links = await Promise.all(
          nodes
            .filter((n) => n.running)
            .map((n) => withNode(n, (r) => r.info('replication')).catch(() => '')),
        );
        const ok =
          states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s)) &&
          links.every((s) => /role:master/.test(s) || /master_link_status:up/.test(s));
        if (ok) {
          const served = (await slotRanges()).every(([, , port]) => byPort(port).running);
          if (served) return;
        }
        if (Date.now() > deadline) throw new Error(`redis cluster not healthy after ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async flushAll() {
      for (const node of await cluster.masters()) await withNode(node, (r) => r.flushall());
    },
    close,
  };
  await cluster.waitHealthy();
  return cluster;
}
