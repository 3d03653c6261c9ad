/**
 * The cross-instance rate limit of availability notifications, in Redis (design §4: rate-limit
 * timestamps are the kind of state Redis may hold, because losing them costs at most one extra
 * notification).
 *
 * A notification target (a fanout subscription, a group or a hash group) for one command is a
 * member `<target>|<command>` of one sorted set, scored by the time it becomes due. Marking work
 * adds it (if absent) with due = max(now + settle, end of the target's gate); every instance polls
 * the set, and firing a due member atomically takes the gate (`SET NX PX interval`) and removes the
 * member, so exactly one instance sends, at most once per interval, and everything marked while the
 * gate was closed collapses into one trailing notification when it opens. All keys share one hash
 * tag so the scripts run on one Redis Cluster slot.
 */
import type { RedisClient } from '../projections/redis-client.js';
import { CodeqError } from '../errors.js';

const MARK = `
local ttl = redis.call('PTTL', KEYS[2])
local now = tonumber(ARGV[2])
local due = now + tonumber(ARGV[3])
if ttl > 0 and now + ttl > due then due = now + ttl end
redis.call('ZADD', KEYS[1], 'NX', due, ARGV[1])
return due`;

const FIRE = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return -1 end
local now = tonumber(ARGV[2])
if tonumber(score) > now then return tonumber(score) - now end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 1 then ttl = 1 end
redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[1])
return ttl`;

type GateRedis = RedisClient & {
  codeqWhMark(due: string, gate: string, member: string, now: number, settleMs: number): Promise<number>;
  codeqWhFire(due: string, gate: string, member: string, now: number, intervalMs: number): Promise<number>;
};

/** The Redis side of availability rate limiting for one key prefix. */
export class AvailabilityGate {
  private readonly redis: GateRedis;
  private readonly base: string;

  /**
   * @param redis - a connection (not owned).
   * @param keyPrefix - the deployment's Redis key prefix (`codeq`); keys are `<prefix>:{wh}:...`.
   * @param settleMs - the earliest a mark fires after it is made, ms (default 50): lets the
   *   projection apply the event that caused it, so the depth read is never one behind.
   */
  constructor(
    redis: RedisClient,
    keyPrefix: string,
    private readonly settleMs = 50,
  ) {
    this.base = `${keyPrefix}:{wh}:`;
    if (!('codeqWhMark' in redis)) {
      redis.defineCommand('codeqWhMark', { numberOfKeys: 2, lua: MARK });
      redis.defineCommand('codeqWhFire', { numberOfKeys: 2, lua: FIRE });
    }
    this.redis = redis as GateRedis;
  }

  private gateKey(member: string): string {
    return `${this.base}gate:${member}`;
  }

  private dueKey(): string {
    return `${this.base}due`;
  }

  /** Records that `member` (`<target>|<command>`) has news; returns when it will be due (epoch ms). */
  async mark(member: string, now: number = Date.now()): Promise<number> {
    try {
      return await this.redis.codeqWhMark(this.dueKey(), this.gateKey(member), member, now, this.settleMs);
    } catch (err) {
      throw new CodeqError('UNAVAILABLE', 'redis: marking a notification failed', { cause: err });
    }
  }

  /** Members due by `now` with their due times, at most `limit`. */
  async due(now: number = Date.now(), limit = 200): Promise<Array<{ member: string; dueAt: number }>> {
    const flat = await this.redis.zrangebyscore(this.dueKey(), '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit);
    const out: Array<{ member: string; dueAt: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ member: flat[i] as string, dueAt: Number(flat[i + 1]) });
    return out;
  }

  /**
   * Tries to fire `member`: 0 = this caller takes it and must send now (the gate is closed for
   * `intervalMs`); -1 = already fired elsewhere; > 0 = not yet, ms until it is due.
   */
  async fire(member: string, intervalMs: number, now: number = Date.now()): Promise<number> {
    return this.redis.codeqWhFire(this.dueKey(), this.gateKey(member), member, now, Math.max(1, intervalMs));
  }

  /** Opens the gate again (a fire that found nothing to say must not hold back the next one). */
  async release(member: string): Promise<void> {
    await this.redis.del(this.gateKey(member));
  }

  /** Forgets a member (its subscription or group is gone). */
  async forget(member: string): Promise<void> {
    await this.redis.zrem(this.dueKey(), member);
  }

  /** Next round-robin index of a group for a command (a counter that lives a day). */
  async nextIndex(groupKey: string): Promise<number> {
    const key = `${this.base}rr:${groupKey}`;
    const [[, value]] = (await this.redis.multi().incr(key).pexpire(key, 86_400_000).exec()) as [
      [Error | null, number],
    ];
    return Number(value);
  }

  /** Takes a short lease (one cleanup per interval across instances); true when taken. */
  async tryLease(name: string, ms: number): Promise<boolean> {
    return (await this.redis.set(`${this.base}lease:${name}`, '1', 'PX', Math.max(1, ms), 'NX')) === 'OK';
  }
}
