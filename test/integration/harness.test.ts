import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startServers, type TestServers } from '../support/servers.js';

describe('test harness', () => {
  it('hands out URLs of running servers', async () => {
    const nc = await connect({ servers: inject('natsUrl') });
    expect(nc.info?.jetstream).toBe(true);
    await nc.close();
    const redis = new Redis(inject('redisUrl'));
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });

  describe('private servers', () => {
    let servers: TestServers;
    beforeAll(async () => {
      servers = await startServers();
    });
    afterAll(async () => {
      await servers.close();
    });

    it('kill -9 and restart keep the port; redis comes back empty', async () => {
      const redis = new Redis(servers.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      await redis.set('k', 'v');
      const oldPid = servers.redis.pid;
      await servers.redis.restart('kill');
      expect(servers.redis.pid).not.toBe(oldPid);
      const again = new Redis(servers.redis.url);
      expect(await again.get('k')).toBeNull();
      again.disconnect();
      redis.disconnect();

      await servers.nats.restart('kill');
      const nc = await connect({ servers: servers.nats.url });
      expect(nc.info?.jetstream).toBe(true);
      await nc.close();
    });
  });
});
