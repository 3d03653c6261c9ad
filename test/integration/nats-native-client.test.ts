/**
 * A client of the NATS-native interface written with nothing but `@nats-io/transport-node` (and
 * `@nats-io/services`' discovery client): the client part imports no codeq code. Only the harness
 * (starting codeq servers, dropping the deployment) does.
 */
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/service/start-service.js';
import { dropDeployment, testDeployment, type TestDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';

const PRODUCER = 'nats-producer-token-0001';
const WORKER = 'nats-worker-token-00001';

// ---- harness (codeq side) ----
let deployment: TestDeployment;
let prefix: string;
let command: string;
const running: RunningService[] = [];

async function startCodeq(): Promise<RunningService> {
  const service = await startService({
    env: {
      NATS_URL: deployment.natsUrl,
      REDIS_URL: deployment.redisUrl,
      STREAM_NAME: deployment.streamName,
      SUBJECT_PREFIX: deployment.subjectPrefix,
      KEY_PREFIX: deployment.keyPrefix,
      NATS_API_PREFIX: prefix,
      PORT: '0',
      LOG_LEVEL: 'silent',
      TOKENS: JSON.stringify([
        { token: PRODUCER, role: 'producer', subject: 'p1', eventTypes: ['*'] },
        {
          token: WORKER,
          role: 'worker',
          subject: 'w1',
          eventTypes: [command],
          scopes: ['codeq:claim', 'codeq:heartbeat', 'codeq:abandon', 'codeq:nack', 'codeq:result'],
        },
      ]),
    },
    print: () => undefined,
  });
  running.push(service);
  return service;
}

// ---- client (NATS only) ----
let nc: NatsConnection;

function auth(token: string) {
  const h = headers();
  h.set('Authorization', `Bearer ${token}`);
  return h;
}

async function call(subject: string, body: unknown, token: string, timeout = 5000): Promise<Msg> {
  return nc.request(`${prefix}.v1.${subject}`, JSON.stringify(body), { headers: auth(token), timeout });
}

beforeAll(async () => {
  deployment = testDeployment();
  prefix = uniqueName('api').toLowerCase();
  command = uniqueName('GEN');
  await startCodeq();
  nc = await connect({ servers: deployment.natsUrl });
});

afterAll(async () => {
  await nc?.close();
  for (const s of running.splice(0)) await s.stop();
  if (deployment) await dropDeployment(deployment);
});

describe('NATS-native client', () => {
  it('reads a task, and an unknown one answers the micro error headers with the HTTP body', async () => {
    const missing = await call('tasks.get', { taskId: 'nope' }, PRODUCER);
    expect(missing.headers?.get('Nats-Service-Error-Code')).toBe('404');
    expect(missing.headers?.get('Nats-Service-Error')).toBe('not found');
    expect(missing.json()).toEqual({ error: 'not found' });
  });
});
