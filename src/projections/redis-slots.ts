/**
 * Multi-key work on a Redis Cluster, where one command (and one pipeline) may only touch keys of
 * one slot (pipeline: of one node). On a single Redis everything here is the plain ioredis call,
 * so that path costs nothing more.
 */
import type { ChainableCommander, Cluster } from 'ioredis';
import { isCluster, masterNodes, type RedisClient } from './redis-client.js';
import { execOrThrow, orUnavailable } from './redis-exec.js';

/** Hash slots of a Redis Cluster. */
const SLOTS = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/**
 * The cluster hash slot of a key: CRC16 (XMODEM) of the key, or of its hash tag (the part between
 * the first `{` and the next `}`, when not empty), modulo 16384.
 */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc % SLOTS;
}

/** A pipeline (chainable commands, `exec()`, `length`): ioredis's, or {@link ClusterPipeline}. */
export type AnyPipeline = ChainableCommander & { readonly length: number };

/** A pipeline for `client`: the plain one on a single Redis, a slot-splitting one on a cluster. */
export function pipelineOf(client: RedisClient): AnyPipeline {
  return (isCluster(client) ? ClusterPipeline.create(client) : client.pipeline()) as AnyPipeline;
}

/** MGET of keys in any slots (one command on a single Redis; one per slot, in parallel, on a cluster). */
export async function mgetAny(client: RedisClient, keys: readonly string[]): Promise<(string | null)[]> {
  if (!isCluster(client)) return client.mget(...keys);
  const [[err, values]] = (await ClusterPipeline.create(client)
    .mget(...keys)
    .exec()) as [[Error | null, (string | null)[]]];
  if (err) throw err;
  return values;
}

/**
 * Deletes every key matching `pattern` but those starting with `keepPrefix` (if given), master by
 * master (a cluster's SCAN only sees one node, and one command may only touch one slot: one UNLINK
 * per key, pipelined). `scanCount` is the SCAN COUNT of one step. Returns the number deleted.
 */
export async function unlinkOnEveryMaster(
  client: RedisClient,
  pattern: string,
  keepPrefix: string | undefined,
  scanCount: number,
): Promise<number> {
  let deleted = 0;
  for (const node of masterNodes(client)) {
    let cursor = '0';
    do {
      const [next, found] = await orUnavailable(node.scan(cursor, 'MATCH', pattern, 'COUNT', scanCount));
      cursor = next;
      const doomed = keepPrefix === undefined ? found : found.filter((key) => !key.startsWith(keepPrefix));
      if (doomed.length === 0) continue;
      const pipeline = node.pipeline();
      for (const key of doomed) pipeline.unlink(key);
      deleted += (await execOrThrow(pipeline)).reduce((sum: number, n) => sum + Number(n), 0);
    } while (cursor !== '0');
  }
  return deleted;
}

type Part = { pipeline: ChainableCommander; index: number; positions?: number[] };

/**
 * Pipelined commands on a cluster: each command goes to a pipeline of its key's node (one ioredis
 * pipeline per group of slots a node serves), MSET and MGET are split per slot, the pipelines run
 * in parallel and `exec()` answers in call order like an ioredis pipeline. Commands of one slot keep
 * their order; across slots there is no order (nor atomicity) on a cluster anyway.
 */
class ClusterPipeline {
  private readonly byNode = new Map<string, ChainableCommander>();
  private readonly commands: { name: string; parts: Part[] }[] = [];

  private constructor(private readonly cluster: Cluster) {}

  /** A pipeline whose every command method (first argument = the key) is routed by slot. */
  static create(cluster: Cluster): ChainableCommander {
    const target = new ClusterPipeline(cluster);
    const proxy: ChainableCommander = new Proxy(target, {
      get(t, prop) {
        if (prop === 'exec') return () => t.exec();
        if (prop === 'length') return t.commands.length;
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        return (...args: unknown[]) => {
          t.add(prop, args);
          return proxy;
        };
      },
    }) as unknown as ChainableCommander;
    return proxy;
  }

  private add(name: string, args: unknown[]): void {
    const lower = name.toLowerCase();
    if (lower === 'mset' || lower === 'mget') {
      const step = lower === 'mset' ? 2 : 1;
      const bySlot = new Map<number, number[]>();
      for (let i = 0; i < args.length; i += step) {
        const slot = keySlot(String(args[i]));
        let positions = bySlot.get(slot);
        if (!positions) bySlot.set(slot, (positions = []));
        positions.push(i);
      }
      const parts = [...bySlot].map(([slot, positions]) =>
        this.part(
          slot,
          name,
          positions.flatMap((i) => args.slice(i, i + step)),
          positions,
        ),
      );
      this.commands.push({ name: lower, parts });
      return;
    }
    this.commands.push({ name: lower, parts: [this.part(keySlot(String(args[0])), name, args)] });
  }

  private part(slot: number, name: string, args: unknown[], positions?: number[]): Part {
    // Slots served by the same nodes share a pipeline (ioredis allows that); before the slot map
    // is known, each slot gets its own.
    const node = this.cluster.slots[slot]?.join(',') ?? `slot:${slot}`;
    let pipeline = this.byNode.get(node);
    if (!pipeline) this.byNode.set(node, (pipeline = this.cluster.pipeline()));
    const index = (pipeline as unknown as { length: number }).length;
    (pipeline as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
    return positions ? { pipeline, index, positions } : { pipeline, index };
  }

  private async exec(): Promise<[Error | null, unknown][]> {
    const replies = new Map<ChainableCommander, [Error | null, unknown][]>();
    await Promise.all(
      [...this.byNode.values()].map(async (pipeline) => {
        try {
          replies.set(pipeline, (await pipeline.exec()) ?? []);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          const count = (pipeline as unknown as { length: number }).length;
          replies.set(
            pipeline,
            Array.from({ length: count }, () => [error, null]),
          );
        }
      }),
    );
    return this.commands.map(({ name, parts }): [Error | null, unknown] => {
      const answers = parts.map((p) => replies.get(p.pipeline)?.[p.index] ?? [new Error('no reply'), null]);
      const failed = answers.find(([err]) => err);
      if (failed) return [failed[0], null];
      if (name === 'mget') {
        const values: unknown[] = [];
        parts.forEach((p, k) =>
          p.positions!.forEach((pos, j) => (values[pos] = (answers[k]![1] as unknown[])[j])),
        );
        return [null, values];
      }
      return [null, answers[0]?.[1] ?? 'OK'];
    });
  }
}
