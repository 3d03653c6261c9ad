/**
 * A valid-looking JWT while the JWKS endpoint is out (closed port, an endpoint that never answers,
 * one that answers 500) is the identity provider's outage, not a bad credential: 503 with
 * `Retry-After` and the `{error}` body, so clients retry instead of dropping their token. Tokens
 * that are not JWTs, and no token at all, still answer 401.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_AFTER_SECONDS } from '../../src/api/error-mapper.js';
import type { CodeqServer } from '../../src/api/server.js';
import { buildServer, closeServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';

const ISSUER = 'https://identity.jwks-outage.test';
const AUDIENCE = 'codeq-api';
const TASK_PATH = '/v1/codeq/tasks/00000000-0000-4000-8000-000000000000';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('JWT while the JWKS endpoint is out', () => {
  let deployment: TestDeployment;
  let engine: Engine;
  let token: string;
  // An endpoint that accepts connections and never answers; its sockets are destroyed at the end.
  const hanging = createServer(() => undefined);
  const hangingSockets = new Set<Socket>();
  const failing = createServer((_req, res) => res.writeHead(500).end('down'));
  const urls: Record<string, string> = {};
  const apps: CodeqServer[] = [];

  beforeAll(async () => {
    hanging.on('connection', (s) => hangingSockets.add(s));
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    urls.closed = `http://127.0.0.1:${closedPort}/jwks.json`;
    urls.hanging = `http://127.0.0.1:${await listen(hanging)}/jwks.json`;
    urls.failing = `http://127.0.0.1:${await listen(failing)}/jwks.json`;

    const { privateKey } = await generateKeyPair('RS256');
    token = await new SignJWT({ eventTypes: ['*'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('producer-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    deployment = testDeployment();
    engine = await Engine.create(engineOptions(deployment));
  });
  afterAll(async () => {
    for (const app of apps) await closeServer(app);
    await engine.close();
    await dropDeployment(deployment);
    for (const s of hangingSockets) s.destroy();
    await Promise.all([hanging, failing].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  function server(jwksUrl: string): CodeqServer {
    const config = loadConfig({
      env: {
        IDENTITY_JWKS_URL: jwksUrl,
        IDENTITY_ISSUER: ISSUER,
        IDENTITY_AUDIENCE: AUDIENCE,
        // Bounds the key fetch too: the hanging endpoint answers 503 after this.
        DEPENDENCY_TIMEOUT_MS: '300',
        LOG_LEVEL: 'silent',
      },
    });
    const app = buildServer({ engine, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    apps.push(app);
    return app;
  }

  it.each(['closed', 'hanging', 'failing'])(
    'a JWKS endpoint that is %s answers 503 with Retry-After',
    async (kind) => {
      const app = server(urls[kind]!);
      const res = await app.inject({
        method: 'GET',
        url: TASK_PATH,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
      // codeQ's words (test/local_flow.py retries a claim on `jwks fetch error`), with a 503.
      expect(res.json()).toEqual({ error: 'jwks fetch error' });
      expect(res.body).not.toContain('127.0.0.1');
    },
  );

  it('still answers 401 to a token that is no JWT, and to no token', async () => {
    const app = server(urls.closed!);
    const cases: Array<[Record<string, string>, string]> = [
      [{ authorization: 'Bearer not-a-jwt' }, 'invalid token'],
      [{}, 'missing Authorization header'],
    ];
    for (const [headers, error] of cases) {
      const res = await app.inject({ method: 'GET', url: TASK_PATH, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error });
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });
});
