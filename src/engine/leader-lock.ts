/**
 * A lease in Redis that elects one active instance for a background loop. Losing Redis loses the
 * lock, which is safe: every loop's work is idempotent and fenced by the log.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../projections/redis-client.js';

const RENEW =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
const RELEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** One instance's claim on a named leadership. */
export class LeaderLock {
  private readonly token = randomUUID();
  private held = false;

  constructor(
    private readonly redis: RedisClient,
    /** The lock key. */
    private readonly key: string,
    /** Lease length; a dead leader is replaced after this, ms. */
    private readonly ttlMs: number,
  ) {}

  /** Acquires or renews the lock; true while this instance leads. */
  async tryLead(): Promise<boolean> {
    try {
      if (this.held) {
        this.held = (await this.redis.eval(RENEW, 1, this.key, this.token, this.ttlMs)) === 1;
      }
      if (!this.held) {
        this.held = (await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK';
      }
    } catch {
      this.held = false;
    }
    return this.held;
  }

  /** Gives the lock up (shutdown), so another instance takes over at once. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
  }
}
