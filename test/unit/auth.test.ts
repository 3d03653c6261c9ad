import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '../../src/api/auth/auth.types.js';
import type { Principal } from '../../src/api/auth/auth.types.js';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import type { CodeqConfig } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<AuthError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected an AuthError');
}

describe('static tokens', () => {
  const config = loadConfig({
    env: {
      TOKENS: JSON.stringify([
        { token: 'producer-secret', role: 'producer', subject: 'p1', eventTypes: ['GEN'] },
        {
          token: 'worker-secret',
          role: 'worker',
          subject: 'w1',
          eventTypes: ['GEN'],
          scopes: ['codeq:claim'],
        },
        { token: 'admin-secret', role: 'admin', subject: 'root' },
      ]),
    },
  });
  const auth = createAuthenticator(config);

  it('authenticates known bearer tokens', async () => {
    const p = await auth.authenticate('Bearer producer-secret');
    expect(p).toMatchObject({ subject: 'p1', role: 'producer', eventTypes: ['GEN'], source: 'static' });
    expect((await auth.authenticate('bearer worker-secret')).role).toBe('worker');
  });

  it("refuses missing, malformed and unknown tokens with 401 in codeQ's words", async () => {
    // codeQ's internal/middleware/auth.go validateBearer, and its static validator's `invalid token`.
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing Authorization header'],
      ['', 'missing Authorization header'],
      ['   ', 'missing Authorization header'],
      ['worker-secret', 'invalid Authorization format'],
      ['Basic d29ya2Vy', 'invalid Authorization format'],
      ['Bearer nope', 'invalid token'],
      ['Bearer a.b.c', 'invalid token'],
    ];
    for (const [header, message] of cases) {
      const err = await refusal(auth.authenticate(header));
      expect([err.status, err.message]).toEqual([401, message]);
    }
  });

  it('enforces roles and scopes with 403', async () => {
    const producer = await auth.authenticate('Bearer producer-secret');
    const worker = await auth.authenticate('Bearer worker-secret');
    const admin = await auth.authenticate('Bearer admin-secret');
    expect(auth.authorize(producer, { kind: 'producer' })).toBe(producer);
    expect(auth.authorize(worker, { kind: 'any' })).toBe(worker);
    expect(auth.authorize(worker, { kind: 'worker', scope: 'codeq:claim' })).toBe(worker);
    // codeQ's RequireWorkerScope: 403 `missing scope`.
    const noScope = await refusal(() => auth.authorize(worker, { kind: 'worker', scope: 'codeq:nack' }));
    expect([noScope.status, noScope.message]).toEqual([403, 'missing scope']);
    expect((await refusal(() => auth.authorize(worker, { kind: 'producer' }))).status).toBe(403);
    expect(
      (await refusal(() => auth.authorize(producer, { kind: 'worker', scope: 'codeq:claim' }))).status,
    ).toBe(403);
    // codeQ's RequireAdmin: 401 `unauthorized. Admin only`.
    const notAdmin = await refusal(() => auth.authorize(producer, { kind: 'admin' }));
    expect([notAdmin.status, notAdmin.message]).toEqual([401, 'unauthorized. Admin only']);
    for (const policy of [
      { kind: 'admin' },
      { kind: 'producer' },
      { kind: 'worker', scope: 'codeq:result' },
    ] as const) {
      expect(auth.authorize(admin, policy)).toBe(admin);
    }
  });

  it('maps a producer to a worker of its own eventTypes only with allowProducerAsWorker', async () => {
    const lenient = createAuthenticator({ ...config, allowProducerAsWorker: true });
    const producer = await lenient.authenticate('Bearer producer-secret');
    const asWorker = lenient.authorize(producer, { kind: 'worker', scope: 'codeq:claim' });
    // Not every command: a producer limited to GEN must not reach other commands' tasks as a worker.
    expect(asWorker).toMatchObject({ subject: 'p1', role: 'worker', eventTypes: ['GEN'] });
    expect(asWorker.scopes.has('codeq:result')).toBe(true);
  });

  it('accepts the dev tokens only in dev mode', async () => {
    expect((await refusal(createAuthenticator(config).authenticate('Bearer dev-admin-token'))).status).toBe(
      401,
    );
    const dev = createAuthenticator({ ...config, devMode: true });
    expect((await dev.authenticate('Bearer dev-admin-token')).role).toBe('admin');
    expect((await dev.authenticate('Bearer dev-worker-token')).scopes.has('codeq:claim')).toBe(true);
  });

  // codeQ's CLI (cmd/codeq/main.go at 32f8a66) sends `X-Role: ADMIN` with its producer token to a
  // localhost server; codeQ's setProducerContext honours it when `env` is dev and the token has no
  // role claim, and RequireAdmin then lets it through.
  it('makes a producer an admin with X-Role: ADMIN in dev mode, from loopback only', async () => {
    const dev = createAuthenticator({ ...config, devMode: true });
    const producer = await dev.authenticate('Bearer producer-secret');
    const admin = { kind: 'admin' } as const;
    const local = { xRole: 'ADMIN', loopback: true };
    expect(dev.authorize(producer, admin, local)).toMatchObject({ role: 'admin', subject: 'p1' });
    expect(dev.authorize(producer, admin, { xRole: ' admin ', loopback: true }).role).toBe('admin');
    const refusedFor = async (a: typeof dev, facts: { xRole?: string; loopback: boolean }) =>
      (await refusal(() => a.authorize(producer, admin, facts))).message;
    // Not from loopback, no header, another role, or dev mode off: codeQ's 401.
    expect(await refusedFor(dev, { xRole: 'ADMIN', loopback: false })).toBe('unauthorized. Admin only');
    expect(await refusedFor(dev, { loopback: true })).toBe('unauthorized. Admin only');
    expect(await refusedFor(dev, { xRole: 'USER', loopback: true })).toBe('unauthorized. Admin only');
    expect(await refusedFor(auth, local)).toBe('unauthorized. Admin only');
    // Only admin routes change; a worker token is never re-roled.
    expect(dev.authorize(producer, { kind: 'producer' }, local).role).toBe('producer');
    const worker = await dev.authenticate('Bearer worker-secret');
    expect((await refusal(() => dev.authorize(worker, admin, local))).status).toBe(401);
  });
});

describe('JWT (RS256, local JWKS)', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: SigningKey;
  let otherKey: SigningKey;
  let fetches = 0;
  let config: CodeqConfig;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    config = loadConfig({
      env: {
        WORKER_JWKS_URL: jwksUrl,
        WORKER_ISSUER: 'https://workers.example',
        IDENTITY_JWKS_URL: jwksUrl,
        IDENTITY_ISSUER: 'https://id.example',
        IDENTITY_AUDIENCE: 'codeq-api',
        ALLOWED_CLOCK_SKEW_SECONDS: '5',
      },
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  type Claims = Record<string, unknown> & { iss?: string; aud?: string; sub?: string; exp?: number };
  const sign = (claims: Claims, key: SigningKey = privateKey) => {
    const { iss, aud, sub, exp, ...rest } = claims;
    let jwt = new SignJWT(rest).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt();
    if (iss) jwt = jwt.setIssuer(iss);
    if (aud) jwt = jwt.setAudience(aud);
    if (sub) jwt = jwt.setSubject(sub);
    jwt = jwt.setExpirationTime(exp ?? Math.floor(Date.now() / 1000) + 300);
    return jwt.sign(key);
  };
  const worker = (extra: Claims = {}) =>
    sign({
      iss: 'https://workers.example',
      aud: 'codeq-worker',
      sub: 'worker-7',
      eventTypes: ['GEN', 'RENDER'],
      scope: 'codeq:claim codeq:heartbeat',
      ...extra,
    });

  it('accepts a valid worker token: sub, eventTypes, scopes', async () => {
    const auth = createAuthenticator(config);
    const p: Principal = await auth.authenticate(`Bearer ${await worker()}`);
    expect(p).toMatchObject({
      subject: 'worker-7',
      role: 'worker',
      eventTypes: ['GEN', 'RENDER'],
      source: 'jwt',
    });
    expect([...p.scopes]).toEqual(['codeq:claim', 'codeq:heartbeat']);
    expect(auth.authorize(p, { kind: 'worker', scope: 'codeq:claim' })).toBe(p);
    expect(fetches).toBeGreaterThan(0);
  });

  it('refuses a missing scope with 403', async () => {
    const auth = createAuthenticator(config);
    const p = await auth.authenticate(`Bearer ${await worker({ scope: 'codeq:claim' })}`);
    expect((await refusal(() => auth.authorize(p, { kind: 'worker', scope: 'codeq:result' }))).status).toBe(
      403,
    );
  });

  const refusedWith = async (token: string) => {
    const err = await refusal(createAuthenticator(config).authenticate(`Bearer ${token}`));
    return [err.status, err.message];
  };

  it('refuses expired tokens (beyond the clock skew) with 401, accepts within the skew', async () => {
    const auth = createAuthenticator(config);
    const now = Math.floor(Date.now() / 1000);
    expect(await refusedWith(await worker({ exp: now - 60 }))).toEqual([401, 'token expired']);
    expect((await auth.authenticate(`Bearer ${await worker({ exp: now - 2 })}`)).subject).toBe('worker-7');
  });

  it("refuses a wrong audience, issuer, signature or kid with 401 in codeQ's words", async () => {
    // The strings of codeQ's identity validator (internal/identitymw/validator.go).
    expect(await refusedWith(await worker({ aud: 'someone-else' }))).toEqual([401, 'invalid audience']);
    expect(await refusedWith(await worker({ iss: 'https://evil.example' }))).toEqual([401, 'invalid issuer']);
    const unknownKid = await new SignJWT({ eventTypes: ['*'], scope: 'codeq:claim' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k9' })
      .setIssuer('https://workers.example')
      .setSubject('w')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await refusedWith(unknownKid)).toEqual([401, 'unknown kid']);
    expect(await refusedWith('eyJhbGciOi.not-json.x')).toEqual([401, 'invalid token format']);
    const forged = await sign(
      {
        iss: 'https://workers.example',
        aud: 'codeq-worker',
        sub: 'w',
        eventTypes: ['*'],
        scope: 'codeq:claim',
      },
      otherKey,
    );
    expect(await refusedWith(forged)).toEqual([401, 'invalid signature']);
  });

  it('refuses worker tokens without eventTypes or scope (codeQ: worker_auth.go)', async () => {
    expect(await refusedWith(await worker({ eventTypes: [] }))).toEqual([401, 'missing eventTypes']);
    expect(await refusedWith(await worker({ scope: '' }))).toEqual([401, 'missing scope']);
  });

  it('reads producer and admin identities from the identity issuer', async () => {
    const auth = createAuthenticator(config);
    const producer = await auth.authenticate(
      `Bearer ${await sign({ iss: 'https://id.example', aud: 'codeq-api', sub: 'user-1' })}`,
    );
    expect(producer).toMatchObject({ subject: 'user-1', role: 'producer', eventTypes: ['*'] });
    expect((await refusal(() => auth.authorize(producer, { kind: 'admin' }))).status).toBe(401);
    const admin = await auth.authenticate(
      `Bearer ${await sign({ iss: 'https://id.example', aud: 'codeq-api', sub: 'ops', role: 'ADMIN' })}`,
    );
    expect(auth.authorize(admin, { kind: 'admin' }).role).toBe('admin');
    const scoped = await auth.authenticate(
      `Bearer ${await sign({ iss: 'https://id.example', aud: 'codeq-api', sub: 'ops2', scope: 'codeq:admin' })}`,
    );
    expect(scoped.role).toBe('admin');
  });

  it('reads a viewer from role VIEWER or scope codeq:read: GET reads only', async () => {
    const auth = createAuthenticator(config);
    const id = { iss: 'https://id.example', aud: 'codeq-api' };
    for (const claims of [
      { ...id, sub: 'eve', role: 'viewer' },
      { ...id, sub: 'eve', scope: 'codeq:read' },
    ]) {
      const viewer = await auth.authenticate(`Bearer ${await sign(claims)}`);
      expect(viewer).toMatchObject({ subject: 'eve', role: 'viewer', eventTypes: ['*'] });
      const get = { loopback: false, method: 'GET' };
      expect(auth.authorize(viewer, { kind: 'admin' }, get)).toBe(viewer);
      expect(auth.authorize(viewer, { kind: 'any' }, get)).toBe(viewer);
      const post = { loopback: true, method: 'POST', xRole: 'ADMIN' };
      for (const [policy, facts] of [
        [{ kind: 'admin' }, post],
        [{ kind: 'any' }, post],
        [{ kind: 'admin', acts: true }, get],
        [{ kind: 'producer' }, get],
        [{ kind: 'worker', scope: 'codeq:claim' }, get],
        [{ kind: 'admin' }, undefined],
      ] as const) {
        const err = await refusal(() => auth.authorize(viewer, policy, facts));
        expect([err.status, err.message]).toEqual([403, 'forbidden. Viewer role is read-only']);
      }
    }
  });
});
