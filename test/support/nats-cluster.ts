/**
 * A 3-node nats-server cluster with JetStream on loopback for failover tests: each node has its own
 * client port, cluster port and store directory, routes to the two others, and can be killed -9 and
 * restarted in place (same ports, same directory), so it rejoins with its data like a real node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort, LocalServer } from '../../src/local/local-servers.js';

/** How long {@link NatsCluster.waitForMetaLeader} waits by default, ms. */
const META_LEADER_TIMEOUT_MS = 30_000;

/** One node of a {@link NatsCluster}. */
export interface ClusterNode {
  /** `--server_name`, e.g. `n1`: what stream info reports as `cluster.leader`. */
  name: string;
  /** The server process. */
  server: LocalServer;
  /** Client URL of the node. */
  url: string;
}

/** A running 3-node JetStream cluster. */
export interface NatsCluster {
  /** The nodes, in start order. */
  nodes: readonly ClusterNode[];
  /** Every node's client URL (give all of them to clients so they fail over). */
  urls: string[];
  /** The node called `name`; throws for an unknown name. */
  node(name: string): ClusterNode;
  /** Kills a node with SIGKILL (no goodbye to its peers). */
  kill(name: string): Promise<void>;
  /** Starts a stopped node again on its ports and directory. */
  restart(name: string): Promise<void>;
  /** Name of the current leader of `stream` (asked through any live node), or undefined while there is none. */
  streamLeader(stream: string): Promise<string | undefined>;
  /** True when `stream` has a leader and every replica is current (caught up, not offline). */
  streamInSync(stream: string): Promise<boolean>;
  /** Waits until the cluster has a JetStream meta leader (API requests succeed); default 30 s. */
  waitForMetaLeader(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the data. */
  close(): Promise<void>;
}

/** Starts three nodes and waits until JetStream has a meta leader. */
export async function startNatsCluster(): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'codeq-cluster-'));
  const clusterName = `C${process.pid}`;
  const specs: { name: string; port: number; routePort: number }[] = [];
  for (let i = 1; i <= 3; i++)
    specs.push({ name: `n${i}`, port: await freePort(), routePort: await freePort() });
  const nodes: ClusterNode[] = specs.map((spec) => {
    const routes = specs
      .filter((other) => other !== spec)
      .map((other) => `nats://127.0.0.1:${other.routePort}`)
      .join(',');
    const server = new LocalServer({
      kind: 'nats',
      port: spec.port,
      dataDir: join(dir, spec.name),
      extraArgs: [
        '--server_name',
        spec.name,
        '--cluster_name',
        clusterName,
        '--cluster',
        `nats://127.0.0.1:${spec.routePort}`,
        '--routes',
        routes,
      ],
    });
    return { name: spec.name, server, url: `nats://127.0.0.1:${spec.port}` };
  });

  const liveUrls = (): string[] => nodes.filter((n) => n.server.running).map((n) => n.url);
  /** Runs `fn` on a short-lived connection to any live node. */
  const withConnection = async <T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> => {
    const nc = await connect({ servers: liveUrls(), maxReconnectAttempts: 0, timeout: 2000 });
    try {
      return await fn(nc);
    } finally {
      await nc.close();
    }
  };
  /** The `cluster` part of a stream's info, asked through any live node; undefined when unanswered. */
  const clusterInfo = (stream: string) =>
    withConnection(async (nc) => {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      return (await jsm.streams.info(stream)).cluster;
    }).catch(() => undefined);
  const node = (name: string): ClusterNode => {
    const found = nodes.find((n) => n.name === name);
    if (!found) throw new Error(`no cluster node ${name}`);
    return found;
  };

  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    node,
    kill: (name) => node(name).server.kill(),
    restart: async (name) => {
      await node(name).server.start();
    },
    streamLeader: async (stream) => (await clusterInfo(stream))?.leader || undefined,
    streamInSync: async (stream) => {
      const info = await clusterInfo(stream);
      return !!info?.leader && (info.replicas ?? []).every((r) => r.current && !r.offline);
    },
    waitForMetaLeader: async (timeoutMs = META_LEADER_TIMEOUT_MS) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // The account-info request needs the meta leader; it fails (503 or timeout) without one.
        const ok = await withConnection(async (nc) => {
          await jetstreamManager(nc, { timeout: 2000 });
          return true;
        }).catch(() => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`no JetStream meta leader within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close: async () => {
      await Promise.all(nodes.map((n) => n.server.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.server.start()));
    await cluster.waitForMetaLeader();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
