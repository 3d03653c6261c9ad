/**
 * Worker-availability subscriptions against real NATS, Redis and HTTP receivers on loopback:
 * rate limiting (one and two server instances), delivery modes, expiry and cleanup, durability
 * across a restart and a Redis wipe, delayed tasks coming due, and input validation.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consumerName } from '../../src/webhooks/availability.consumers.js';
import { pickByHash } from '../../src/webhooks/delivery-targets.js';
import type { Subscription } from '../../src/webhooks/subscription.store.js';
import { subscriptionBucket } from '../../src/webhooks/subscription.store.js';
import { dropDeployment, testDeployment, type TestDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';
import {
  call,
  sleep,
  startInstance,
  startReceiver,
  until,
  type Instance,
  type Receiver,
} from '../support/webhooks.js';

const W = 'worker-token-1';

describe('worker-availability subscriptions', () => {
  let d: TestDeployment;
  let receiver: Receiver;
  const instances: Instance[] = [];
  const start = async () => {
    const i = await startInstance(d);
    instances.push(i);
    return i;
  };

  beforeEach(async () => {
    d = testDeployment();
    receiver = await startReceiver();
  });
  afterEach(async () => {
    for (const i of instances.splice(0)) await i.close();
    await receiver.close();
    const nc = await connect({ servers: d.natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`KV_${subscriptionBucket(d.streamName)}`).catch(() => false);
    await nc.close();
    await dropDeployment(d);
  });
  afterAll(() => undefined);

  const subscribe = async (i: Instance, body: Record<string, unknown>) => {
    const res = await call(i.base, '/workers/subscriptions', W, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.subscriptionId as string;
  };
  const notes = (subId?: string) =>
    receiver.received.filter((r) => subId === undefined || r.body.subscriptionId === subId);

  async function burst(targets: Instance[], command: string, count: number, ms: number): Promise<void> {
    const started = Date.now();
    for (let n = 0; n < count; n += 10) {
      const engine = targets[(n / 10) % targets.length]!.engine;
      await engine.enqueueMany(Array.from({ length: 10 }, () => ({ command, payload: { n } })));
      const wait = started + ((n + 10) / count) * ms - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }

  for (const servers of [1, 2]) {
    it(`collapses 200 enqueues in 1 s into 1..3 notifications with the real depth (${servers} server(s))`, async () => {
      const all = [await start()];
      if (servers === 2) all.push(await start());
      const command = uniqueName('BURST');
      const id = await subscribe(all[0]!, {
        callbackUrl: `${receiver.url}/hook`,
        eventTypes: [command],
        minIntervalSeconds: 1,
      });
      await burst(all, command, 200, 1000);
      await sleep(2500);
      const got = notes(id);
      expect(got.length).toBeGreaterThanOrEqual(1);
      expect(got.length).toBeLessThanOrEqual(3);
      const last = got[got.length - 1]!.body;
      expect(last).toMatchObject({
        eventType: command,
        available: true,
        queueDepth: 200,
        claimUrl: '/v1/codeq/tasks/claim',
      });
      expect(new Set(got.map((g) => g.body.notificationId)).size).toBe(got.length);
      expect(got[0]!.headers['x-codeq-delivery-id']).toBe(got[0]!.body.notificationId);
      // Never two inside one interval, whichever server sent them.
      for (let n = 1; n < got.length; n++) expect(got[n]!.at - got[n - 1]!.at).toBeGreaterThanOrEqual(950);
      // A quiet queue sends nothing.
      const before = got.length;
      await sleep(1500);
      expect(notes(id).length).toBe(before);
    });
  }

  it('fanout reaches every subscription; group one member per notification, rotating; hash a stable one', async () => {
    const i = await start();
    const fanCmd = uniqueName('FAN');
    const groupCmd = uniqueName('GRP');
    const hashCmd = uniqueName('HSH');
    const base = { callbackUrl: `${receiver.url}/n`, minIntervalSeconds: 0 };
    const fans = [
      await subscribe(i, { ...base, eventTypes: [fanCmd] }),
      await subscribe(i, { ...base, eventTypes: [fanCmd] }),
    ];
    const group = [];
    for (let n = 0; n < 3; n++)
      group.push(
        await subscribe(i, { ...base, eventTypes: [groupCmd], deliveryMode: 'group', groupId: 'g1' }),
      );
    const hashed = [];
    for (let n = 0; n < 3; n++)
      hashed.push(
        await subscribe(i, { ...base, eventTypes: [hashCmd], deliveryMode: 'hash', groupId: 'h1' }),
      );

    await i.engine.enqueue({ command: fanCmd, payload: 1 });
    await until(() => fans.every((f) => notes(f).length === 1), 5000, 'fanout');

    for (let n = 0; n < 6; n++) {
      await i.engine.enqueue({ command: groupCmd, payload: n });
      await until(
        () => receiver.received.filter((r) => r.body.eventType === groupCmd).length === n + 1,
        5000,
        'group',
      );
      await sleep(50);
    }
    const order = receiver.received
      .filter((r) => r.body.eventType === groupCmd)
      .map((r) => r.body.subscriptionId as string);
    expect(order).toHaveLength(6);
    for (const g of group) expect(order.filter((o) => o === g)).toHaveLength(2);
    for (let n = 1; n < order.length; n++) expect(order[n]).not.toBe(order[n - 1]);

    for (let n = 0; n < 4; n++) {
      await i.engine.enqueue({ command: hashCmd, payload: n });
      await until(
        () => receiver.received.filter((r) => r.body.eventType === hashCmd).length === n + 1,
        5000,
        'hash',
      );
      await sleep(50);
    }
    const chosen = new Set(
      receiver.received.filter((r) => r.body.eventType === hashCmd).map((r) => r.body.subscriptionId),
    );
    const expected = pickByHash(
      hashed.map((id) => ({ id }) as Subscription),
      hashCmd,
    )!.id;
    expect([...chosen]).toEqual([expected]);
    await sleep(300);
    expect(notes(fans[0]).length).toBe(1);
  });

  it('a subscription not renewed stops receiving, and the cleanup removes it and its consumer', async () => {
    const i = await start();
    const command = uniqueName('EXP');
    const short = await subscribe(i, {
      callbackUrl: `${receiver.url}/s`,
      eventTypes: [command],
      ttlSeconds: 1,
      minIntervalSeconds: 0,
    });
    const kept = await subscribe(i, {
      callbackUrl: `${receiver.url}/k`,
      eventTypes: [command],
      ttlSeconds: 1,
      minIntervalSeconds: 0,
    });
    await i.engine.enqueue({ command, payload: 1 });
    await until(() => notes(short).length === 1 && notes(kept).length === 1, 5000, 'first notifications');
    const renewed = await call(i.base, `/workers/subscriptions/${kept}/heartbeat`, W, { ttlSeconds: 30 });
    expect(renewed.status).toBe(200);
    expect(Date.parse(renewed.body.expiresAt)).toBeGreaterThan(Date.now() + 20_000);
    await sleep(1200);
    await i.engine.enqueue({ command, payload: 2 });
    await until(() => notes(kept).length === 2, 5000, 'renewed subscription notified');
    await sleep(300);
    expect(notes(short)).toHaveLength(1);
    expect((await call(i.base, `/workers/subscriptions/${short}/heartbeat`, W, {})).status).toBe(404);

    const nc = await connect({ servers: d.natsUrl });
    const jsm = await jetstreamManager(nc);
    await expect(jsm.consumers.info(d.streamName, consumerName(short, command))).resolves.toBeTruthy();
    expect(await i.webhooks.cleanupNow()).toEqual({ removed: 1, orphans: 0 });
    await expect(jsm.consumers.info(d.streamName, consumerName(short, command))).rejects.toThrow();
    await expect(jsm.consumers.info(d.streamName, consumerName(kept, command))).resolves.toBeTruthy();
    const listed = await call(i.base, '/workers/subscriptions', W);
    expect(listed.body.subscriptions.map((s: { subscriptionId: string }) => s.subscriptionId)).toEqual([
      kept,
    ]);
    // Unsubscribe removes the rest.
    expect((await call(i.base, `/workers/subscriptions/${kept}`, W, undefined, 'DELETE')).status).toBe(204);
    await expect(jsm.consumers.info(d.streamName, consumerName(kept, command))).rejects.toThrow();
    await nc.close();
  });

  it('subscriptions survive a server restart and a Redis wipe; delayed tasks notify when due', async () => {
    let i = await start();
    const command = uniqueName('DUR');
    const id = await subscribe(i, {
      callbackUrl: `${receiver.url}/d`,
      eventTypes: [command],
      minIntervalSeconds: 0,
    });
    await instances.pop()!.close();
    const redis = new Redis(d.redisUrl);
    const keys = await redis.keys(`${d.keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    i = await start();
    await i.engine.enqueue({ command, payload: 'after restart' });
    await until(() => notes(id).length === 1, 8000, 'notification after restart and wipe');
    expect(notes(id)[0]!.body.queueDepth).toBe(1);
    // Take the ready task: a delayed enqueue into a queue with nothing ready announces nothing...
    expect(await i.engine.claim({ workerId: 'w', commands: [command] })).toHaveLength(1);
    await i.engine.enqueue({ command, payload: 'later', delaySeconds: 1 });
    await sleep(500);
    expect(notes(id)).toHaveLength(1);
    // ...until it comes due (the sweeper promotes it and wakes the command).
    await until(() => notes(id).length === 2, 5000, 'notification when the delayed task came due');
    expect(notes(id)[1]!.body.queueDepth).toBe(1);
  });

  it('validates input: required url, metadata and private addresses, modes, allowed commands', async () => {
    const i = await start();
    const post = (body: unknown, token = W) => call(i.base, '/workers/subscriptions', token, body);
    expect(await post({ eventTypes: ['A'] })).toEqual({
      status: 400,
      body: { error: 'callbackUrl is required' },
    });
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/',
      'http://10.1.2.3/hook',
      'ftp://example.com/',
      'not a url',
    ]) {
      expect(await post({ callbackUrl: url, eventTypes: ['A'] }), url).toEqual({
        status: 400,
        body: { error: 'invalid callback url' },
      });
    }
    const ok = { callbackUrl: `${receiver.url}/v`, eventTypes: ['A'] };
    expect(await post({ ...ok, deliveryMode: 'broadcast' })).toEqual({
      status: 400,
      body: { error: 'invalid deliveryMode' },
    });
    expect(await post({ ...ok, deliveryMode: 'group' })).toEqual({
      status: 400,
      body: { error: 'groupId is required' },
    });
    expect((await post({ ...ok, eventTypes: ['OTHER'] }, 'worker-token-2')).status).toBe(403);
    const own = await post({ callbackUrl: `${receiver.url}/v` }, 'worker-token-2');
    expect(own.status).toBe(200);
    const listed = await call(i.base, '/workers/subscriptions', 'worker-token-2');
    expect(listed.body.subscriptions).toMatchObject([{ eventTypes: ['ONLY_THIS'], deliveryMode: 'fanout' }]);
    // Another worker cannot see or renew it.
    expect(
      (await call(i.base, `/workers/subscriptions/${own.body.subscriptionId}/heartbeat`, W, {})).status,
    ).toBe(404);
    // codeQ's subscription repository reads ttlSeconds <= 0 as 300, on create and on heartbeat.
    const zero = await post({ ...ok, ttlSeconds: 0 });
    expect(zero.status).toBe(200);
    expect(Date.parse(zero.body.expiresAt) - Date.now()).toBeGreaterThan(290_000);
    const renewed = await call(i.base, `/workers/subscriptions/${zero.body.subscriptionId}/heartbeat`, W, {
      ttlSeconds: 0,
    });
    expect(Date.parse(renewed.body.expiresAt) - Date.now()).toBeGreaterThan(290_000);
  });
});
