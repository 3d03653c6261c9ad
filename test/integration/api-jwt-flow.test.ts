/**
 * The codeQ end-to-end flow over real HTTP with RS256 JWTs only (no static tokens): create 202 →
 * claim 200 (long-poll) → heartbeat → nack → claim again → result COMPLETED → get result. The
 * tokens are signed by a key served from a local JWKS endpoint (node:http on 127.0.0.1, port 0)
 * configured as both `identityJwksUrl` (producers) and `workerJwksUrl` (workers), each with its own
 * issuer and audience. Also: an expired token answers 401, a well-signed token for another audience
 * 403 (src/api/auth/jwt-verifier.ts), and a worker whose `sub` is not the lease owner 403 `not-owner`.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig, toEngineSettings } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, testDeployment } from '../support/engine.js';
import { uniqueName } from '../support/servers.js';
import { callApi } from '../support/http.js';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const IDENTITY_ISSUER = 'https://identity.jwt-flow.test';
const IDENTITY_AUDIENCE = 'codeq-api';
const WORKER_ISSUER = 'https://workers.jwt-flow.test';
const WORKER_AUDIENCE = 'codeq-worker';
const WORKER_SCOPES = 'codeq:claim codeq:heartbeat codeq:abandon codeq:nack codeq:result';

describe('codeQ flow over HTTP with JWTs from a local JWKS', () => {
  const command = uniqueName('JWT_GEN');
  const workerSub = `worker-${uniqueName('jwt').toLowerCase()}`;
  const otherWorkerSub = `other-${uniqueName('jwt').toLowerCase()}`;
  let jwks: Server;
  let jwksFetches = 0;
  let key: SigningKey;
  let deployment: TestDeployment;
  let engine: Engine;
  let app: CodeqServer;
  let base: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'jwt-flow-1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

    // JWKS only: no static tokens, no dev mode.
    const config = loadConfig({
      env: {
        IDENTITY_JWKS_URL: jwksUrl,
        IDENTITY_ISSUER,
        IDENTITY_AUDIENCE,
        WORKER_JWKS_URL: jwksUrl,
        WORKER_ISSUER,
        WORKER_AUDIENCE,
        BACKOFF_POLICY: 'fixed',
        BACKOFF_BASE_SECONDS: '0',
        LOG_LEVEL: 'silent',
      },
    });
    expect(config.tokens).toEqual([]);
    expect(config.devMode).toBe(false);
    deployment = testDeployment();
    engine = await Engine.create({
      natsServers: deployment.natsUrl,
      redisUrl: deployment.redisUrl,
      streamName: deployment.streamName,
      subjectPrefix: deployment.subjectPrefix,
      keyPrefix: deployment.keyPrefix,
      settings: toEngineSettings(config),
      background: false,
    });
    app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/codeq`;
  });

  afterAll(async () => {
    if (app) await closeServer(app);
    if (engine) await engine.close();
    if (deployment) await dropDeployment(deployment);
    if (jwks) {
      jwks.closeAllConnections();
      await new Promise<void>((resolve) => jwks.close(() => resolve()));
    }
  });

  const now = () => Math.floor(Date.now() / 1000);
  type Claims = Record<string, unknown> & { iss?: string; aud?: string; sub?: string; exp?: number };
  const sign = (claims: Claims & { iss: string; aud: string; sub: string }) => {
    const { iss, aud, sub, exp, ...rest } = claims;
    return new SignJWT(rest)
      .setProtectedHeader({ alg: 'RS256', kid: 'jwt-flow-1' })
      .setIssuer(iss)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(exp ?? now() + 600)
      .sign(key);
  };
  const producerToken = (extra: Claims = {}) =>
    sign({
      iss: IDENTITY_ISSUER,
      aud: IDENTITY_AUDIENCE,
      sub: 'producer-jwt-1',
      eventTypes: [command],
      ...extra,
    });
  const workerToken = (extra: Claims = {}) =>
    sign({
      iss: WORKER_ISSUER,
      aud: WORKER_AUDIENCE,
      sub: workerSub,
      eventTypes: [command],
      scope: WORKER_SCOPES,
      ...extra,
    });

  const call = (path: string, token: string, body?: unknown, method?: string) =>
    callApi(base, path, token, body, method);

  it('runs create → claim (long-poll) → heartbeat → nack → claim → result → get result with JWTs', async () => {
    const producer = await producerToken();
    const worker = await workerToken();

    // The claim starts first and long-polls; commands default to the token's eventTypes.
    const waiting = call('/tasks/claim', worker, { waitSeconds: 10, leaseSeconds: 60 });
    await new Promise((r) => setTimeout(r, 200));

    const created = await call('/tasks', producer, { command, payload: { jobId: 'jwt-1' }, priority: 4 });
    expect(created.status).toBe(202);
    const task = created.body;
    expect(task).toMatchObject({ command, payload: '{"jobId":"jwt-1"}', priority: 4, status: 'PENDING' });

    const claimed = await waiting;
    expect(claimed.status).toBe(200);
    // The worker identity is the token's `sub`, nothing else.
    expect(claimed.body).toMatchObject({
      id: task.id,
      status: 'IN_PROGRESS',
      workerId: workerSub,
      attempts: 1,
    });

    const hb = await call(`/tasks/${task.id}/heartbeat`, worker, { extendSeconds: 120 });
    expect(hb.status).toBe(200);
    expect(hb.body.ok).toBe(true);

    const nack = await call(`/tasks/${task.id}/nack`, worker, { reason: 'retry please' });
    expect(nack.status).toBe(200);
    expect(nack.body).toEqual({ status: 'requeued', delaySeconds: 0 });

    const again = await call('/tasks/claim', worker, { commands: [command], waitSeconds: 5 });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: task.id, workerId: workerSub, attempts: 2 });

    const result = await call(`/tasks/${task.id}/result`, worker, {
      status: 'COMPLETED',
      result: { ok: true },
    });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ taskId: task.id, status: 'COMPLETED', result: { ok: true } });

    const got = await call(`/tasks/${task.id}/result`, producer);
    expect(got.status).toBe(200);
    expect(got.body.task).toMatchObject({ id: task.id, status: 'COMPLETED', workerId: workerSub });
    expect(got.body.result).toMatchObject({ taskId: task.id, status: 'COMPLETED', result: { ok: true } });

    // The log records the JWT subjects as the actors.
    const history = await call(`/tasks/${task.id}/history`, producer);
    expect(history.status).toBe(200);
    const events = history.body.events as { type: string; actor: string }[];
    expect(events.map((e) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'heartbeat',
      'nacked',
      'claimed',
      'completed',
    ]);
    expect(events[0]?.actor).toBe('producer:producer-jwt-1');
    expect(events.slice(1).every((e) => e.actor === workerSub)).toBe(true);
    // The key set was fetched from the local JWKS endpoint (and cached by jose).
    expect(jwksFetches).toBeGreaterThanOrEqual(1);
  });

  it('answers 401 `token expired` to an expired token (beyond the 60 s clock skew)', async () => {
    const expiredWorker = await workerToken({ exp: now() - 120, iat: now() - 720 });
    const res = await call('/tasks/claim', expiredWorker, { commands: [command] });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'token expired' });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');

    const expiredProducer = await producerToken({ exp: now() - 120, iat: now() - 720 });
    const create = await call('/tasks', expiredProducer, { command, payload: {} });
    expect(create.status).toBe(401);
    expect(create.body).toEqual({ error: 'token expired' });
  });

  it('answers 401 `invalid audience` to a well-signed token for another audience (as codeQ)', async () => {
    const wrongAud = await workerToken({ aud: 'some-other-service' });
    const res = await call('/tasks/claim', wrongAud, { commands: [command] });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid audience' });

    const wrongAudProducer = await producerToken({ aud: 'some-other-service' });
    const create = await call('/tasks', wrongAudProducer, { command, payload: {} });
    expect(create.status).toBe(401);
    expect(create.body).toEqual({ error: 'invalid audience' });
  });

  it("answers a re-keyed worker token's claim `invalid signature`, the words test/local_flow.py retries on", async () => {
    // local_flow.py (codeQ, 32f8a66) retries its claim while the error is `jwks fetch error` or
    // `invalid signature` (the JWKS mock not yet serving the new key), with its kid `codeq-local-1`
    // here played by the JWKS's own kid signed by another key.
    const other = (await generateKeyPair('RS256')).privateKey;
    const forged = await new SignJWT({ eventTypes: [command], scope: WORKER_SCOPES })
      .setProtectedHeader({ alg: 'RS256', kid: 'jwt-flow-1' })
      .setIssuer(WORKER_ISSUER)
      .setAudience(WORKER_AUDIENCE)
      .setSubject('worker-1')
      .setExpirationTime(now() + 600)
      .sign(other);
    const res = await call('/tasks/claim', forged, { commands: [command], leaseSeconds: 60 });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid signature' });
  });

  it("answers 403 not-owner when another worker's sub heartbeats (or finishes) the task", async () => {
    const producer = await producerToken();
    const owner = await workerToken();
    const intruder = await workerToken({ sub: otherWorkerSub });

    const created = await call('/tasks', producer, { command, payload: { jobId: 'jwt-2' } });
    expect(created.status).toBe(202);
    const claimed = await call('/tasks/claim', owner, { commands: [command], waitSeconds: 5 });
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ id: created.body.id, workerId: workerSub });

    const hb = await call(`/tasks/${created.body.id}/heartbeat`, intruder, { extendSeconds: 30 });
    expect(hb.status).toBe(403);
    expect(hb.body).toEqual({ error: 'not-owner' });
    const res = await call(`/tasks/${created.body.id}/result`, intruder, {
      status: 'COMPLETED',
      result: { stolen: true },
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'not-owner' });

    // The owner's lease is untouched: it still finishes the task.
    const done = await call(`/tasks/${created.body.id}/result`, owner, {
      status: 'COMPLETED',
      result: { ok: true },
    });
    expect(done.status).toBe(200);
    const history = await call(`/tasks/${created.body.id}/history`, producer);
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual([
      'enqueued',
      'claimed',
      'completed',
    ]);
  });
});
