/**
 * Worker-availability notifications (design §7): each subscription consumes the task events of its
 * commands; an event that makes work claimable (enqueue, nack, abandon, lease expiry, requeue) or a
 * wake-up of the command (the sweeper promoting due tasks publishes one) marks the subscription's
 * target as having news, and a due target is fired by exactly one instance, at most once per
 * interval, with the command's real ready depth (see `availability.gate.ts`). Every instance runs
 * one notifier; the consumers are shared, so each event is handled by one of them.
 */
import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { QueueStats } from '../contract/views.js';
import { decodeStoredEvent } from '../events/event-codec.js';
import { wakeSubject } from '../events/subjects.js';
import type { Metrics } from '../metrics/metrics.js';
import { consumerName, ensureConsumers } from './availability.consumers.js';
import type { AvailabilityGate } from './availability.gate.js';
import {
  chooseRecipient,
  follows,
  memberOf,
  parseMember,
  targetMembers,
  targetOf,
} from './delivery-targets.js';
import type { HttpSender } from './http-sender.js';
import type { Subscription, SubscriptionStore } from './subscription.store.js';

/** Events after which a command may have claimable work. */
const MAKES_WORK: ReadonlySet<string> = new Set([
  'enqueued',
  'nacked',
  'abandoned',
  'leaseExpired',
  'requeued',
]);

/** A due mark no known subscription follows is dropped after this long, ms. */
const ORPHAN_AFTER_MS = 5000;

/** Path workers claim from (the contract's `claimUrl`). */
const CLAIM_PATH = '/v1/codeq/tasks/claim';

/** The availability notification body (the contract's fields). */
export interface AvailabilityNotification {
  /** The command that has work. */
  eventType: string;
  /** Always true. */
  available: true;
  /** Ready (claimable now) tasks of the command when the notification was sent. */
  queueDepth: number;
  /** Where to claim: `/v1/codeq/tasks/claim`. */
  claimUrl: string;
  /** When it was sent, RFC 3339. */
  sentAt: string;
  /** Unique per notification (UUID); also the `X-CodeQ-Delivery-Id` header. */
  notificationId: string;
  /** The receiving subscription. */
  subscriptionId: string;
}

/** Dependencies of an {@link AvailabilityNotifier}. */
export interface AvailabilityNotifierDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subjectPrefix: string;
  store: SubscriptionStore;
  gate: AvailabilityGate;
  sender: HttpSender;
  /** Ready depth of a command. */
  queueStats: (command: string) => Promise<QueueStats>;
  metrics?: Metrics | undefined;
  logger: Logger;
  /** How often due targets are looked for, ms (default 100). */
  pollMs?: number;
}

interface Runner {
  stop(): void;
}

/** Follows the subscriptions and sends their notifications. */
export class AvailabilityNotifier {
  private readonly subs = new Map<string, Subscription>();
  private readonly runners = new Map<string, Runner>();
  private readonly inflight = new Set<Promise<void>>();
  private stopWatch: (() => void) | undefined;
  private wakeSub: NatsSubscription | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;
  private stopped = false;

  constructor(private readonly deps: AvailabilityNotifierDeps) {}

  /** Starts watching subscriptions, consuming their events, listening to wake-ups and polling. */
  async start(): Promise<void> {
    this.stopWatch = await this.deps.store.watch((change) => {
      if (change.op === 'put') {
        this.subs.set(change.sub.id, change.sub);
        this.startRunners(change.sub);
      } else {
        const sub = this.subs.get(change.id);
        this.subs.delete(change.id);
        if (sub) for (const c of sub.commands) this.stopRunner(consumerName(sub.id, c));
      }
    });
    const wakePrefix = wakeSubject(this.deps.subjectPrefix, 'x').slice(0, -1);
    this.wakeSub = this.deps.nc.subscribe(`${wakePrefix}*`, {
      callback: (_err, msg) => this.onWork(msg.subject.slice(wakePrefix.length)),
    });
    this.timer = setInterval(() => void this.poll(), this.deps.pollMs ?? 100);
  }

  /** Stops everything and waits for notifications being sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.stopWatch?.();
    this.wakeSub?.unsubscribe();
    for (const name of [...this.runners.keys()]) this.stopRunner(name);
    await Promise.allSettled([...this.inflight]);
  }

  /** Live subscriptions known to this instance (tests, diagnostics). */
  get known(): ReadonlyMap<string, Subscription> {
    return this.subs;
  }

  private startRunners(sub: Subscription): void {
    if (this.stopped || sub.expiresAt <= Date.now()) return;
    for (const command of sub.commands) {
      const name = consumerName(sub.id, command);
      if (this.runners.has(name)) continue;
      const runner = { stopped: false, stop: () => {} } as Runner & { stopped: boolean };
      runner.stop = () => {
        runner.stopped = true;
      };
      this.runners.set(name, runner);
      void this.consume(sub, command, name, runner).catch((err: unknown) => {
        if (this.runners.get(name) !== runner) return;
        this.runners.delete(name);
        if (runner.stopped || this.stopped) return;
        // Transient (NATS restart, consumer being recreated): try again while the subscription lives.
        this.deps.logger.warn({ err, consumer: name }, 'availability consumer failed; restarting');
        setTimeout(() => {
          const current = this.subs.get(sub.id);
          if (current) this.startRunners(current);
        }, 1000).unref();
      });
    }
  }

  private stopRunner(name: string): void {
    this.runners.get(name)?.stop();
    this.runners.delete(name);
  }

  private async consume(
    sub: Subscription,
    command: string,
    name: string,
    runner: { stopped: boolean; stop: () => void },
  ): Promise<void> {
    // Idempotent: heals a subscription whose creator died before making its consumers, and the
    // race where this watch sees the subscription before its creator made them.
    await ensureConsumers(this.deps.jsm, this.deps.stream, this.deps.subjectPrefix, {
      ...sub,
      commands: [command],
    });
    const subId = sub.id;
    const consumer = await this.deps.js.consumers.get(this.deps.stream, name);
    const messages = await consumer.consume({ max_messages: 256, abort_on_missing_resource: true });
    const stopPrevious = runner.stop;
    runner.stop = () => {
      stopPrevious();
      void messages.close().catch(() => undefined);
    };
    if (runner.stopped) return void messages.close().catch(() => undefined);
    for await (const msg of messages) {
      if (runner.stopped) break;
      await this.onMessage(subId, command, msg);
    }
  }

  private async onMessage(subId: string, command: string, msg: JsMsg): Promise<void> {
    const sub = this.subs.get(subId);
    let type: string;
    try {
      type = decodeStoredEvent(msg.data, msg.seq, msg.subject, this.deps.subjectPrefix).type;
    } catch {
      type = '';
    }
    if (!sub || !MAKES_WORK.has(type) || !follows(sub, command, Date.now())) return msg.ack();
    try {
      await this.deps.gate.mark(memberOf(targetOf(sub), command));
      msg.ack();
    } catch (err) {
      this.deps.logger.warn({ err, subscriptionId: subId }, 'cannot mark availability; retrying');
      msg.nak(1000);
    }
  }

  /** A wake-up of `command`: mark every target following it (idempotent marks). */
  private onWork(command: string): void {
    const now = Date.now();
    const targets = new Set<string>();
    for (const sub of this.subs.values()) if (follows(sub, command, now)) targets.add(targetOf(sub));
    for (const target of targets) {
      this.deps.gate.mark(memberOf(target, command)).catch((err: unknown) => {
        this.deps.logger.warn({ err, command }, 'cannot mark availability after a wake-up');
      });
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const now = Date.now();
      for (const { member, dueAt } of await this.deps.gate.due(now)) {
        const { target, command } = parseMember(member);
        const { members, intervalMs } = targetMembers(target, command, this.subs.values(), now);
        if (members.length === 0) {
          // Nobody follows it any more. A subscription created a moment ago on another instance may
          // not have reached this one's watch yet: forget only what stayed unfired for a while.
          if (dueAt < now - ORPHAN_AFTER_MS) await this.deps.gate.forget(member);
          continue;
        }
        if ((await this.deps.gate.fire(member, intervalMs, now)) !== 0) continue;
        const sending = this.deliver(member, target, command, members).finally(() =>
          this.inflight.delete(sending),
        );
        this.inflight.add(sending);
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'availability poll failed');
    } finally {
      this.polling = false;
    }
  }

  private async deliver(
    member: string,
    target: string,
    command: string,
    members: Subscription[],
  ): Promise<void> {
    const { gate, sender, metrics, logger } = this.deps;
    try {
      const roundRobin = target.startsWith('g:') ? await gate.nextIndex(member) : 0;
      const sub = chooseRecipient(target, members, command, roundRobin);
      const depth = (await this.deps.queueStats(command)).ready;
      if (!sub || depth === 0) {
        // The work was claimed already: nothing to announce, and the next arrival need not wait.
        await gate.release(member);
        return;
      }
      const body: AvailabilityNotification = {
        eventType: command,
        available: true,
        queueDepth: depth,
        claimUrl: CLAIM_PATH,
        sentAt: new Date().toISOString(),
        notificationId: randomUUID(),
        subscriptionId: sub.id,
      };
      const outcome = await sender.send({
        url: sub.callbackUrl,
        body: JSON.stringify(body),
        headers: {
          'X-CodeQ-Delivery-Id': body.notificationId,
          'X-CodeQ-Webhook': 'availability',
          'X-CodeQ-Subscription-Id': sub.id,
        },
      });
      const result = outcome.ok ? 'delivered' : outcome.refused ? 'refused' : 'failed';
      metrics?.webhookDeliveries.inc({ kind: 'notification', outcome: result });
      const line = {
        subscriptionId: sub.id,
        command,
        queueDepth: depth,
        notificationId: body.notificationId,
        ms: outcome.ms,
      };
      if (outcome.ok) logger.debug(line, 'availability notification delivered');
      else
        logger.warn(
          { ...line, error: outcome.error, status: outcome.status },
          'availability notification failed',
        );
    } catch (err) {
      logger.warn({ err, member }, 'availability notification failed');
    }
  }
}
