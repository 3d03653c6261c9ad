/**
 * Queue limits from the configuration (`queueLimits` / `QUEUE_LIMITS`): the service writes them at
 * start as a control event by `system:config`, only when they change something, so a restart with
 * the same configuration writes nothing and an operator's other limits stay.
 */
import { describe, expect, it } from 'vitest';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import { uniqueName } from '../support/servers.js';
import { startTestService } from '../support/service.js';

describe('queue limits from the configuration', () => {
  it('are set at start, once, beside what operators set', async () => {
    const name = uniqueName('CFGLIM');
    const env = {
      QUEUE_LIMITS: JSON.stringify({ mail: { concurrency: 3, groupRate: { limit: 5, intervalMs: 1000 } } }),
    };
    let service = await startTestService('CFGLIM', { env, name });
    const admin = () => new CodeqHttpClient({ baseUrl: service.url, tokens: { admin: 'dev-admin-token' } });
    try {
      expect((await admin().queueDetail('mail')).limits).toEqual({
        concurrency: 3,
        groupRate: { limit: 5, intervalMs: 1000 },
      });
      await admin().setQueueLimits('mail', { groupConcurrency: 2 });
    } finally {
      await service.stop();
    }
    // A restart with the same configuration writes nothing and keeps the operator's limit.
    service = await startTestService('CFGLIM', { env, name });
    try {
      expect((await admin().queueDetail('mail')).limits).toEqual({
        concurrency: 3,
        groupConcurrency: 2,
        groupRate: { limit: 5, intervalMs: 1000 },
      });
      const events = await admin().queueControls('mail');
      expect(events.map((e) => [e.type, e.actor])).toEqual([
        ['queueLimitsChanged', 'system:config'],
        ['queueLimitsChanged', expect.stringMatching(/^admin:/)],
      ]);
    } finally {
      await service.stop();
    }
  });

  it('refuses a bad configuration before starting anything', async () => {
    for (const bad of [
      '{"mail": {"concurrency": 0}}',
      '{"bad name": {"concurrency": 1}}',
      '[1]',
      '{"mail": {"rate": null}}',
    ]) {
      await expect(startTestService('CFGBAD', { env: { QUEUE_LIMITS: bad } })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
    }
  });
});
