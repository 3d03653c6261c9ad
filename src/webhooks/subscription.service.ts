/**
 * The subscription operations behind the HTTP routes (subscribe, renew, list, unsubscribe) and the
 * cleanup of expired subscriptions. A subscription is stored first (the durable fact), then its
 * consumers are created; the cleanup removes the fact first (compare-and-set, so a renewal that
 * raced it wins), then everything it used: its consumers and its rate-limit marks. Orphan
 * consumers (a crash between the two steps) are found by name and removed too.
 */
import {
  CLAIM_COMMANDS_MAX,
  GROUP_ID_PATTERN,
  SUBSCRIPTION_MIN_INTERVAL_SECONDS_MAX,
  SUBSCRIPTION_TTL_SECONDS_DEFAULT,
  SUBSCRIPTION_TTL_SECONDS_MAX,
  zeroAsDefault,
} from '../contract/limits.js';
import { MESSAGES } from '../contract/messages.js';
import { randomUUID } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { CodeqError } from '../errors.js';
import { assertValidCommand } from '../events/subjects.js';
import {
  deleteConsumers,
  ensureConsumers,
  listAvailabilityConsumers,
  subscriptionIdOf,
} from './availability.consumers.js';
import type { AvailabilityGate } from './availability.gate.js';
import { memberOf } from './delivery-targets.js';
import type { DeliveryMode, Subscription, SubscriptionStore } from './subscription.store.js';
import { assertCallbackUrl, type UrlPolicy } from './url-safety.js';

/** A subscribe request as the route hands it over (the caller's allowed commands already checked). */
export interface SubscribeInput {
  /** Token subject of the caller: the subscription's owner. */
  owner: string;
  /** The caller's allowed commands (`*` = all): the default of `eventTypes`. */
  allowedCommands: readonly string[];
  /** Required absolute http(s) URL. */
  callbackUrl?: string | undefined;
  /** Commands to follow; default the token's (required when the token allows `*`). */
  eventTypes?: string[] | undefined;
  /** Lifetime, seconds (1..86400); default 300. */
  ttlSeconds?: number | undefined;
  /** `fanout` (default), `group`, `hash`. */
  deliveryMode?: string | undefined;
  /** Required for `group`, optional for `hash`. */
  groupId?: string | undefined;
  /** Gap between notifications, seconds (0..86400); default `subscriptionMinIntervalSeconds`. */
  minIntervalSeconds?: number | undefined;
}

/** What subscribe and renew answer. */
export interface SubscriptionLease {
  /** The id. */
  subscriptionId: string;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

/** Settings of the subscription service. */
export interface SubscriptionServiceSettings {
  /** `subscriptionMinIntervalSeconds` (default of `minIntervalSeconds`). */
  defaultMinIntervalSeconds: number;
  /** Callback URL policy. */
  policy: UrlPolicy;
}

/** Dependencies of a {@link SubscriptionService}. */
export interface SubscriptionServiceDeps {
  store: SubscriptionStore;
  jsm: JetStreamManager;
  stream: string;
  subjectPrefix: string;
  gate: AvailabilityGate;
  settings: SubscriptionServiceSettings;
  logger: Logger;
}

const MODES: readonly DeliveryMode[] = ['fanout', 'group', 'hash'];

function invalid(message: string): never {
  throw new CodeqError('INVALID_INPUT', message);
}

function notFound(): never {
  throw new CodeqError('NOT_FOUND', 'subscription not found');
}

function intIn(value: number | undefined, name: string, min: number, max: number, def: number): number {
  if (value === undefined) return def;
  if (!Number.isInteger(value) || value < min || value > max) invalid(`invalid '${name}' (${min}..${max})`);
  return value;
}

/** The subscription operations (one per server). */
export class SubscriptionService {
  constructor(private readonly deps: SubscriptionServiceDeps) {}

  /** Creates a subscription and its consumers. */
  async subscribe(input: SubscribeInput, now: number = Date.now()): Promise<SubscriptionLease> {
    if (input.callbackUrl === undefined || input.callbackUrl === '') invalid('callbackUrl is required');
    const url = assertCallbackUrl(input.callbackUrl, this.deps.settings.policy);
    const mode = (input.deliveryMode ?? 'fanout') as DeliveryMode;
    if (!MODES.includes(mode)) invalid(MESSAGES.deliveryMode);
    if (mode === 'group' && (input.groupId === undefined || input.groupId === ''))
      invalid('groupId is required');
    if (input.groupId !== undefined && !GROUP_ID_PATTERN.test(input.groupId)) invalid(MESSAGES.groupId);
    let commands = input.eventTypes;
    if (commands === undefined || commands.length === 0) {
      if (input.allowedCommands.includes('*')) {
        invalid("invalid body: 'eventTypes' is required when the token allows every event type");
      }
      commands = [...input.allowedCommands];
    }
    commands = [...new Set(commands)];
    if (commands.length === 0 || commands.length > CLAIM_COMMANDS_MAX)
      invalid(`eventTypes: 1..${CLAIM_COMMANDS_MAX} commands`);
    commands.forEach((c) => assertValidCommand(c));
    const ttlSeconds = intIn(
      zeroAsDefault(input.ttlSeconds, undefined),
      'ttlSeconds',
      1,
      SUBSCRIPTION_TTL_SECONDS_MAX,
      SUBSCRIPTION_TTL_SECONDS_DEFAULT,
    );
    const sub: Subscription = {
      id: randomUUID(),
      owner: input.owner,
      callbackUrl: url.toString(),
      commands,
      deliveryMode: mode,
      groupId: mode === 'fanout' ? undefined : input.groupId,
      minIntervalSeconds: intIn(
        input.minIntervalSeconds,
        'minIntervalSeconds',
        0,
        SUBSCRIPTION_MIN_INTERVAL_SECONDS_MAX,
        this.deps.settings.defaultMinIntervalSeconds,
      ),
      ttlSeconds,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
    };
    await this.deps.store.create(sub);
    try {
      await ensureConsumers(this.deps.jsm, this.deps.stream, this.deps.subjectPrefix, sub);
    } catch (err) {
      await this.deps.store.remove(sub.id).catch(() => undefined);
      await deleteConsumers(this.deps.jsm, this.deps.stream, sub.id, sub.commands);
      throw new CodeqError('UNAVAILABLE', 'cannot create the subscription consumers', { cause: err });
    }
    this.deps.logger.info(
      {
        subscriptionId: sub.id,
        owner: sub.owner,
        commands,
        mode,
        minIntervalSeconds: sub.minIntervalSeconds,
      },
      'subscription created',
    );
    return { subscriptionId: sub.id, expiresAt: sub.expiresAt };
  }

  /** Extends a live subscription of `owner` (any, for an admin) by `ttlSeconds` from now. */
  async heartbeat(
    id: string,
    caller: { owner: string; admin: boolean },
    ttlSeconds?: number,
    now: number = Date.now(),
  ): Promise<SubscriptionLease> {
    const ttl = intIn(
      zeroAsDefault(ttlSeconds, undefined),
      'ttlSeconds',
      1,
      SUBSCRIPTION_TTL_SECONDS_MAX,
      SUBSCRIPTION_TTL_SECONDS_DEFAULT,
    );
    const next = await this.deps.store.update(id, (sub) =>
      sub.expiresAt > now && (caller.admin || sub.owner === caller.owner)
        ? { ...sub, ttlSeconds: ttl, expiresAt: now + ttl * 1000 }
        : undefined,
    );
    if (!next) notFound();
    return { subscriptionId: next.id, expiresAt: next.expiresAt };
  }

  /** The caller's live subscriptions (every one, for an admin). */
  async list(caller: { owner: string; admin: boolean }, now: number = Date.now()): Promise<Subscription[]> {
    return (await this.deps.store.list())
      .map((i) => i.sub)
      .filter((s) => s.expiresAt > now && (caller.admin || s.owner === caller.owner))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Removes a subscription of the caller and everything it used. */
  async unsubscribe(id: string, caller: { owner: string; admin: boolean }): Promise<void> {
    const found = await this.deps.store.get(id);
    if (!found || !(caller.admin || found.sub.owner === caller.owner)) notFound();
    await this.deps.store.remove(id);
    await this.release(found.sub);
  }

  /**
   * Removes every expired subscription (and its consumers and marks) and every availability
   * consumer whose subscription no longer exists. Safe on several instances at once.
   */
  async cleanup(now: number = Date.now()): Promise<{ removed: number; orphans: number }> {
    let removed = 0;
    let orphans = 0;
    const live = new Set<string>();
    for (const { sub, revision } of await this.deps.store.list()) {
      if (sub.expiresAt > now) {
        live.add(sub.id);
        continue;
      }
      // A renewal since the listing changed the revision: then it stays.
      if (!(await this.deps.store.remove(sub.id, revision))) continue;
      await this.release(sub);
      removed++;
    }
    for (const name of await listAvailabilityConsumers(this.deps.jsm, this.deps.stream)) {
      const id = subscriptionIdOf(name);
      if (id === undefined || live.has(id) || (await this.deps.store.get(id))) continue;
      await this.deps.jsm.consumers.delete(this.deps.stream, name).catch(() => false);
      orphans++;
    }
    if (removed + orphans > 0)
      this.deps.logger.info({ removed, orphans }, 'expired subscriptions cleaned up');
    return { removed, orphans };
  }

  private async release(sub: Subscription): Promise<void> {
    await deleteConsumers(this.deps.jsm, this.deps.stream, sub.id, sub.commands);
    if (sub.deliveryMode === 'fanout') {
      for (const c of sub.commands)
        await this.deps.gate.forget(memberOf(`s:${sub.id}`, c)).catch(() => undefined);
    }
    this.deps.logger.info({ subscriptionId: sub.id }, 'subscription removed');
  }
}
