import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEV_TOKENS,
  assertAuthConfigured,
  defaultConfig,
  effectiveTokens,
  envName,
  loadConfig,
  toEngineSettings,
} from '../../src/config.js';
import { CodeqError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'codeq-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function yamlFile(text: string): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function expectInvalid(fn: () => unknown, ...fragments: string[]): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodeqError);
    expect((err as CodeqError).code).toBe('INVALID_INPUT');
    for (const f of fragments) expect((err as Error).message).toContain(f);
    return;
  }
  throw new Error('expected INVALID_INPUT');
}

describe('loadConfig', () => {
  it('has every contract default', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      defaultLeaseSeconds: 300,
      requeueInspectLimit: 200,
      maxAttemptsDefault: 5,
      backoffPolicy: 'exponential',
      backoffBaseSeconds: 5,
      backoffMaxSeconds: 900,
      subscriptionMinIntervalSeconds: 5,
      subscriptionCleanupIntervalSeconds: 60,
      resultWebhookMaxAttempts: 5,
      resultWebhookBaseBackoffSeconds: 2,
      resultWebhookMaxBackoffSeconds: 60,
      webhookHmacSecret: '',
      allowedClockSkewSeconds: 60,
      logLevel: 'info',
      logFormat: 'json',
      workerAudience: 'codeq-worker',
      allowProducerAsWorker: false,
      payloadFormat: 'string',
      streamName: 'CODEQ_TASKS',
      subjectPrefix: 'codeq.task',
      keyPrefix: 'codeq',
      streamReplicas: 1,
      streamMaxAgeSeconds: 604800,
      completedRetentionSeconds: 86400,
      deadRetentionSeconds: 604800,
      idempotencyTtlSeconds: 86400,
      maxPayloadBytes: 900000,
      bodyLimitBytes: 1048576,
      devMode: false,
      tokens: [],
      dataDir: './.codeq',
    });
    expect(c.natsUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.identityJwksUrl).toBeUndefined();
    expect(c.localArtifactsDir).toBe(join('./.codeq', 'artifacts'));
    expect(defaultConfig()).toEqual(c);
  });

  it('reads a YAML file from --config, CODEQ_CONFIG or the file option', () => {
    const path = yamlFile('port: 9000\nbackoffPolicy: linear\nnatsUrl: nats://127.0.0.1:4222\n');
    expect(loadConfig({ argv: ['--config', path], env: {} }).port).toBe(9000);
    expect(loadConfig({ argv: [`--config=${path}`], env: {} }).backoffPolicy).toBe('linear');
    expect(loadConfig({ env: { CODEQ_CONFIG: path } }).natsUrl).toBe('nats://127.0.0.1:4222');
    expect(loadConfig({ file: path, env: {} }).port).toBe(9000);
  });

  it('reads static tokens with defaults for eventTypes and scopes', () => {
    const path = yamlFile(
      [
        'tokens:',
        '  - { token: "producer-secret-1", role: producer, subject: p1, eventTypes: [GEN] }',
        '  - { token: "worker-secret-1", role: worker, subject: w1 }',
      ].join('\n'),
    );
    const c = loadConfig({ file: path, env: {} });
    expect(c.tokens).toEqual([
      { token: 'producer-secret-1', role: 'producer', subject: 'p1', eventTypes: ['GEN'], scopes: [] },
      {
        token: 'worker-secret-1',
        role: 'worker',
        subject: 'w1',
        eventTypes: ['*'],
        scopes: [
          'codeq:claim',
          'codeq:heartbeat',
          'codeq:abandon',
          'codeq:nack',
          'codeq:result',
          'codeq:subscribe',
        ],
      },
    ]);
  });

  it('lets the environment override the file, in upper snake case', () => {
    const path = yamlFile('port: 9000\nmaxAttemptsDefault: 3\n');
    const c = loadConfig({
      file: path,
      env: {
        PORT: '9100',
        MAX_ATTEMPTS_DEFAULT: '7',
        BACKOFF_POLICY: 'fixed',
        NATS_URL: 'nats://a:4222,nats://b:4222',
        REDIS_URL: 'redis://127.0.0.1:6380',
        ALLOW_PRODUCER_AS_WORKER: 'true',
        IDENTITY_JWKS_URL: 'https://id.example/jwks.json',
        TOKENS: '[{"token":"abcdefgh","role":"admin","subject":"root"}]',
      },
    });
    expect(c).toMatchObject({
      port: 9100,
      maxAttemptsDefault: 7,
      backoffPolicy: 'fixed',
      natsUrl: 'nats://a:4222,nats://b:4222',
      redisUrl: 'redis://127.0.0.1:6380',
      allowProducerAsWorker: true,
      identityJwksUrl: 'https://id.example/jwks.json',
    });
    expect(c.tokens[0]).toMatchObject({ role: 'admin', subject: 'root', eventTypes: ['*'], scopes: [] });
    expect(envName('resultWebhookMaxBackoffSeconds')).toBe('RESULT_WEBHOOK_MAX_BACKOFF_SECONDS');
  });

  it('takes a Redis Cluster as a redis+cluster:// URL or as REDIS_CLUSTER_NODES (which becomes that URL)', () => {
    const url = 'redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7001';
    expect(loadConfig({ env: { REDIS_URL: url } }).redisUrl).toBe(url);
    const c = loadConfig({ env: { REDIS_CLUSTER_NODES: 'r1:7000, r2:7001' } });
    expect(c.redisUrl).toBe('redis+cluster://r1:7000,r2:7001');
  });

  it('enables dev mode only explicitly (DEV_MODE=true or --dev)', () => {
    expect(loadConfig({ env: {} }).devMode).toBe(false);
    expect(loadConfig({ env: { DEV_MODE: 'true' } }).devMode).toBe(true);
    expect(loadConfig({ argv: ['--dev'], env: {} }).devMode).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'port', '0 to 65535'],
    [{ PORT: '70000' }, 'port', '0 to 65535'],
    [{ DEFAULT_LEASE_SECONDS: '0' }, 'defaultLeaseSeconds', '1 to 86400'],
    [{ MAX_ATTEMPTS_DEFAULT: '1.5' }, 'maxAttemptsDefault', 'integer'],
    [
      { BACKOFF_POLICY: 'random' },
      'backoffPolicy',
      'fixed, linear, exponential, exp_full_jitter, exp_equal_jitter',
    ],
    [{ LOG_LEVEL: 'loud' }, 'logLevel', 'info'],
    [{ LOG_FORMAT: 'xml' }, 'logFormat', 'json, text'],
    [{ PAYLOAD_FORMAT: 'text' }, 'payloadFormat', 'string, object'],
    [{ ALLOW_PRODUCER_AS_WORKER: 'maybe' }, 'allowProducerAsWorker', 'true or false'],
    [{ DEV_MODE: 'sure' }, 'devMode', 'true or false'],
    [{ NATS_URL: 'http://x:1' }, 'natsUrl', 'nats:'],
    [{ REDIS_URL: 'not a url' }, 'redisUrl', 'redis:'],
    [{ REDIS_URL: 'redis+cluster://a:1,b' }, 'redisUrl', 'host:port'],
    [{ REDIS_CLUSTER_NODES: 'a:1,b:99999' }, 'redisClusterNodes', 'host:port'],
    [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://x:1' }, 'redisClusterNodes', 'not both'],
    [{ IDENTITY_JWKS_URL: 'ftp://x/jwks' }, 'identityJwksUrl', 'http:'],
    [{ STREAM_NAME: 'bad.name' }, 'streamName', '[A-Za-z0-9_-]'],
    [{ SUBJECT_PREFIX: 'codeq.*' }, 'subjectPrefix', 'no wildcards'],
    [{ KEY_PREFIX: 'has space' }, 'keyPrefix', '[A-Za-z0-9_:.-]'],
    [{ STREAM_REPLICAS: '7' }, 'streamReplicas', '1 to 5'],
    [{ BODY_LIMIT_BYTES: '10' }, 'bodyLimitBytes', '1024'],
    [{ MAX_PAYLOAD_BYTES: '2000000' }, 'maxPayloadBytes', 'bodyLimitBytes'],
    [
      { BACKOFF_BASE_SECONDS: '100', BACKOFF_MAX_SECONDS: '10' },
      'backoffMaxSeconds',
      '>= backoffBaseSeconds',
    ],
    [{ TOKENS: 'not json' }, 'tokens', 'JSON'],
    [{ TOKENS: '[{"token":"short","role":"admin","subject":"x"}]' }, 'tokens[0].token', '8 characters'],
    [
      { TOKENS: '[{"token":"abcdefghij","role":"root","subject":"x"}]' },
      'tokens[0].role',
      'producer, worker, admin',
    ],
    [{ TOKENS: '[{"token":"abcdefghij","role":"worker","subject":""}]' }, 'tokens[0].subject', '1 to 256'],
    [
      { TOKENS: '[{"token":"abcdefghij","role":"worker","subject":"w","eventTypes":["a.b"]}]' },
      'tokens[0].eventTypes',
      "'*'",
    ],
    [
      { TOKENS: '[{"token":"abcdefghij","role":"worker","subject":"w","extra":1}]' },
      'tokens[0].extra',
      'unknown token key',
    ],
  ])('rejects %j naming %s', (env, key, rule) => {
    expectInvalid(() => loadConfig({ env }), `'${key}'`.replace(/^'|'$/g, ''), rule);
  });

  it('reads metricsToken (unset by default) and never shows a refused one', () => {
    expect(loadConfig({ env: {} }).metricsToken).toBeUndefined();
    expect(loadConfig({ env: { METRICS_TOKEN: 'scrape-token-0123456789' } }).metricsToken).toBe(
      'scrape-token-0123456789',
    );
    for (const bad of ['short-secret', 'has a space in it ok?']) {
      let message = '';
      try {
        loadConfig({ env: { METRICS_TOKEN: bad } });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/invalid config 'metricsToken'.*<hidden>/);
      expect(message).not.toContain(bad);
    }
  });

  it('rejects unknown keys, non-mapping files, bad YAML and missing files', () => {
    expectInvalid(
      () => loadConfig({ file: yamlFile('port: 1\nprot: 2\n'), env: {} }),
      "unknown config key 'prot'",
    );
    expectInvalid(() => loadConfig({ file: yamlFile('- 1\n- 2\n'), env: {} }), 'mapping');
    expectInvalid(() => loadConfig({ file: yamlFile('port: [\n'), env: {} }), 'not valid YAML');
    expectInvalid(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), 'cannot read config file');
    expectInvalid(() => loadConfig({ file: yamlFile('port: "8080"\n'), env: {} }), "'port'", 'integer');
    expectInvalid(() => loadConfig({ argv: ['--config'], env: {} }), '--config');
  });

  it('converts to engine settings', () => {
    const s = toEngineSettings(
      loadConfig({
        env: { BACKOFF_POLICY: 'linear', IDEMPOTENCY_TTL_SECONDS: '60', ARTIFACT_MAX_BYTES: '1024' },
      }),
    );
    expect(s).toEqual({
      defaultLeaseSeconds: 300,
      requeueInspectLimit: 200,
      maxAttemptsDefault: 5,
      backoff: { policy: 'linear', baseSeconds: 5, maxSeconds: 900 },
      maxPayloadBytes: 900000,
      idempotencyTtlMs: 60_000,
      completedRetentionMs: 86_400_000,
      deadRetentionMs: 604_800_000,
      snapshotAfterMs: 453_600_000, // three quarters of the 7-day log
      sweepIntervalMs: 1000,
      maxWaitSeconds: 30,
      artifactMaxBytes: 1024,
      artifactsMaxBytesPerResult: 33_554_432,
    });
    // A log that keeps events forever needs no snapshots.
    expect(toEngineSettings(loadConfig({ env: { STREAM_MAX_AGE_SECONDS: '0' } })).snapshotAfterMs).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('refuses to start without any credentials, and adds dev tokens only in dev mode', () => {
    expectInvalid(() => assertAuthConfigured(loadConfig({ env: {} })), 'DEV_MODE=true', '--dev');
    expect(() => assertAuthConfigured(loadConfig({ env: { DEV_MODE: 'true' } }))).not.toThrow();
    expect(() =>
      assertAuthConfigured(loadConfig({ env: { WORKER_JWKS_URL: 'http://127.0.0.1/j' } })),
    ).not.toThrow();
    expect(effectiveTokens(loadConfig({ env: {} }))).toEqual([]);
    expect(effectiveTokens(loadConfig({ env: { DEV_MODE: '1' } }))).toEqual(DEV_TOKENS);
    expect(DEV_TOKENS.map((t) => t.role)).toEqual(['producer', 'worker', 'admin', 'viewer']);
  });
});
