/**
 * The configuration's shape: every key with its default, range and validation, the static token
 * type and the documented dev tokens. Pure; `config.ts` reads the file, the environment and the
 * flags and validates them with these rules.
 */
import type { BackoffPolicyName } from './actors/task.types.js';
import { CodeqError } from './errors.js';
import { isClusterUrl, parseClusterNodes, parseRedisTarget } from './projections/redis-target.js';
import { parseAllowList } from './webhooks/url-safety.js';

/** Every scope a worker can hold (the contract's list). */
export const WORKER_SCOPES = [
  'codeq:claim',
  'codeq:heartbeat',
  'codeq:abandon',
  'codeq:nack',
  'codeq:result',
  'codeq:subscribe',
] as const;

/** A role a static token grants. */
export type TokenRole = 'producer' | 'worker' | 'admin';

/** A static bearer token from the config file (so dev setups and tests need no identity provider). */
export interface StaticToken {
  /** The bearer token itself (at least 8 characters). */
  token: string;
  /** `producer` (create/read), `worker` (claim and lease operations) or `admin` (everything). */
  role: TokenRole;
  /** Identity: the worker id for workers, recorded as the actor for producers and admins. */
  subject: string;
  /** Commands the token may enqueue or claim; `['*']` = all. Default `['*']`. */
  eventTypes: string[];
  /** Scopes (e.g. `codeq:claim`); default: every worker scope for workers, none otherwise. */
  scopes: string[];
}

/** The whole configuration. Every key has a default; see docs/configuration.md. */
export interface CodeqConfig {
  /** HTTP port, default 8080 (0 = any free port). */
  port: number;
  /** HTTP listen address, default `127.0.0.1`. */
  host: string;
  /** Lease length when a claim gives none, default 300 s. */
  defaultLeaseSeconds: number;
  /** Expired leases repaired per claim, default 200 tasks. */
  requeueInspectLimit: number;
  /** Deliveries allowed when a task gives none, default 5. */
  maxAttemptsDefault: number;
  /** Retry delay policy, default `exponential`. */
  backoffPolicy: BackoffPolicyName;
  /** Backoff base, default 5 s. */
  backoffBaseSeconds: number;
  /** Backoff cap (also caps a nack's own delay), default 900 s. */
  backoffMaxSeconds: number;
  /** Minimum gap between two notifications of one subscription, default 5 s. */
  subscriptionMinIntervalSeconds: number;
  /** Period of the expired-subscription cleanup, default 60 s. */
  subscriptionCleanupIntervalSeconds: number;
  /** Result callback attempts, default 5. */
  resultWebhookMaxAttempts: number;
  /** Result callback backoff base, default 2 s. */
  resultWebhookBaseBackoffSeconds: number;
  /** Result callback backoff cap, default 60 s. */
  resultWebhookMaxBackoffSeconds: number;
  /** HMAC-SHA256 secret for webhook signatures; default "" (unsigned). */
  webhookHmacSecret: string;
  /** Deadline of one webhook request (connect, send, response), default 10 s. */
  webhookTimeoutSeconds: number;
  /**
   * Where webhooks may go: `*`, host names, `*.domain`, IPs or CIDRs. Default `[]` = any public
   * host; private ranges need a CIDR or exact host entry; link-local/metadata are always refused.
   * Environment: comma-separated.
   */
  webhookAllowedHosts: string[];
  /** Webhook requests in flight at once per server (each kind), default 16. */
  webhookMaxConcurrency: number;
  /** JWT clock tolerance, default 60 s. */
  allowedClockSkewSeconds: number;
  /** pino level, default `info`. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `json` (default) or `text` (human-readable). */
  logFormat: 'json' | 'text';
  /** JWKS URL of producer/admin access tokens; unset = no producer JWTs. */
  identityJwksUrl?: string | undefined;
  /** Expected `iss` of producer tokens; unset = not checked. */
  identityIssuer?: string | undefined;
  /** Expected `aud` of producer tokens; unset = not checked. */
  identityAudience?: string | undefined;
  /** JWKS URL of worker tokens; unset = no worker JWTs. */
  workerJwksUrl?: string | undefined;
  /** Expected `iss` of worker tokens; unset = not checked. */
  workerIssuer?: string | undefined;
  /** Expected `aud` of worker tokens, default `codeq-worker`. */
  workerAudience: string;
  /** Accept producer tokens on worker routes (wildcard event types, all worker scopes); default false. */
  allowProducerAsWorker: boolean;
  /** Where locally stored artifacts go; default `<dataDir>/artifacts`. */
  localArtifactsDir: string;
  /** NATS URL(s), comma-separated; unset = launch a local nats-server. */
  natsUrl?: string | undefined;
  /**
   * Redis URL: `redis://`, `rediss://`, or a Redis Cluster as
   * `redis+cluster://[user:password@]host:port,host:port` (`rediss+cluster://` for TLS); unset =
   * launch a local redis-server (unless `redisClusterNodes` is set).
   */
  redisUrl?: string | undefined;
  /**
   * Redis Cluster seed nodes, comma-separated `host:port`; unset = no cluster. Shorthand for a
   * `redis+cluster://` `redisUrl` (the loaded configuration carries it as that URL); not both.
   */
  redisClusterNodes?: string | undefined;
  /** JetStream stream name, default `CODEQ_TASKS`. */
  streamName: string;
  /** Subject prefix of task events, default `codeq.task`. */
  subjectPrefix: string;
  /** Prefix of every Redis key, default `codeq`. */
  keyPrefix: string;
  /** Stream replicas, default 1. */
  streamReplicas: number;
  /**
   * The longest a request waits on NATS or Redis (retries included) before a retryable 503,
   * default 5000 ms.
   */
  dependencyTimeoutMs: number;
  /** Event log retention, default 604800 s (7 d); 0 = unlimited. */
  streamMaxAgeSeconds: number;
  /** Finished tasks stay queryable this long, default 86400 s (24 h). */
  completedRetentionSeconds: number;
  /** Dead-lettered tasks stay this long, default 604800 s (7 d). */
  deadRetentionSeconds: number;
  /** Idempotency keys live this long, default 86400 s (24 h). */
  idempotencyTtlSeconds: number;
  /** Largest task payload (encoded JSON), default 900000 bytes; at most `bodyLimitBytes`. */
  maxPayloadBytes: number;
  /** Largest HTTP request body, default 1048576 bytes (1 MiB). */
  bodyLimitBytes: number;
  /** Dev mode: accept the documented {@link DEV_TOKENS}; default false. */
  devMode: boolean;
  /** Static bearer tokens; default none. */
  tokens: StaticToken[];
  /** Local data (launched servers, artifacts), default `./.codeq`. */
  dataDir: string;
}

/**
 * The documented dev tokens, accepted only when `devMode` is true. Never use them outside a laptop:
 * they are public.
 */
export const DEV_TOKENS: readonly StaticToken[] = Object.freeze([
  { token: 'dev-producer-token', role: 'producer', subject: 'dev-producer', eventTypes: ['*'], scopes: [] },
  {
    token: 'dev-worker-token',
    role: 'worker',
    subject: 'dev-worker',
    eventTypes: ['*'],
    scopes: [...WORKER_SCOPES],
  },
  {
    token: 'dev-admin-token',
    role: 'admin',
    subject: 'dev-admin',
    eventTypes: ['*'],
    scopes: ['codeq:admin'],
  },
]);

export function checkCrossKeys(config: CodeqConfig): void {
  if (config.maxPayloadBytes > config.bodyLimitBytes) {
    throw new CodeqError(
      'INVALID_INPUT',
      `maxPayloadBytes (${config.maxPayloadBytes}) must be <= bodyLimitBytes (${config.bodyLimitBytes})`,
      { details: { key: 'maxPayloadBytes' } },
    );
  }
  if (config.redisClusterNodes !== undefined) {
    try {
      parseClusterNodes(config.redisClusterNodes);
    } catch (err) {
      throw invalid('redisClusterNodes', (err as Error).message, config.redisClusterNodes);
    }
  }
  if (config.redisClusterNodes !== undefined && config.redisUrl !== undefined) {
    throw new CodeqError('INVALID_INPUT', 'set redisUrl or redisClusterNodes, not both', {
      details: { key: 'redisClusterNodes' },
    });
  }
  if (config.backoffMaxSeconds < config.backoffBaseSeconds) {
    throw new CodeqError('INVALID_INPUT', 'backoffMaxSeconds must be >= backoffBaseSeconds', {
      details: { key: 'backoffMaxSeconds' },
    });
  }
  if (config.resultWebhookMaxBackoffSeconds < config.resultWebhookBaseBackoffSeconds) {
    throw new CodeqError(
      'INVALID_INPUT',
      'resultWebhookMaxBackoffSeconds must be >= resultWebhookBaseBackoffSeconds',
      {
        details: { key: 'resultWebhookMaxBackoffSeconds' },
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Key specifications: one row per key drives defaults, env parsing, validation and error messages.

const TOKEN_ROLES: readonly TokenRole[] = ['producer', 'worker', 'admin'];
const DAY = 86_400;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SUBJECT_PREFIX_RE = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
const KEY_PREFIX_RE = /^[A-Za-z0-9_:.-]{1,64}$/;

export type KeySpec =
  | { key: string; kind: 'int'; default?: number; min: number; max: number }
  | { key: string; kind: 'bool'; default: boolean }
  | { key: string; kind: 'enum'; default: string; values: readonly string[] }
  | { key: string; kind: 'string'; default?: string; pattern?: RegExp; rule?: string; allowEmpty?: boolean }
  | {
      key: string;
      kind: 'url';
      default?: string;
      schemes: readonly string[];
      list?: boolean;
      /** Also accepted when this says so (it throws `INVALID_INPUT` on a malformed value of its form). */
      accept?: (value: string) => boolean;
    }
  | { key: string; kind: 'tokens'; default: StaticToken[] }
  | { key: string; kind: 'hostList'; default: string[] };

const int = (key: string, def: number, min: number, max: number): KeySpec => ({
  key,
  kind: 'int',
  default: def,
  min,
  max,
});
const HTTP = ['http:', 'https:'] as const;

export const KEY_SPECS: readonly KeySpec[] = [
  int('port', 8080, 0, 65_535),
  { key: 'host', kind: 'string', default: '127.0.0.1' },
  int('defaultLeaseSeconds', 300, 1, DAY),
  int('requeueInspectLimit', 200, 1, 100_000),
  int('maxAttemptsDefault', 5, 1, 1000),
  {
    key: 'backoffPolicy',
    kind: 'enum',
    default: 'exponential',
    values: ['fixed', 'linear', 'exponential', 'exp_full_jitter', 'exp_equal_jitter'],
  },
  int('backoffBaseSeconds', 5, 0, DAY),
  int('backoffMaxSeconds', 900, 0, 30 * DAY),
  int('subscriptionMinIntervalSeconds', 5, 0, DAY),
  int('subscriptionCleanupIntervalSeconds', 60, 1, DAY),
  int('resultWebhookMaxAttempts', 5, 1, 100),
  int('resultWebhookBaseBackoffSeconds', 2, 0, DAY),
  int('resultWebhookMaxBackoffSeconds', 60, 0, DAY),
  { key: 'webhookHmacSecret', kind: 'string', default: '', allowEmpty: true },
  int('webhookTimeoutSeconds', 10, 1, 300),
  { key: 'webhookAllowedHosts', kind: 'hostList', default: [] },
  int('webhookMaxConcurrency', 16, 1, 1000),
  int('allowedClockSkewSeconds', 60, 0, 3600),
  {
    key: 'logLevel',
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  },
  { key: 'logFormat', kind: 'enum', default: 'json', values: ['json', 'text'] },
  { key: 'identityJwksUrl', kind: 'url', schemes: HTTP },
  { key: 'identityIssuer', kind: 'string' },
  { key: 'identityAudience', kind: 'string' },
  { key: 'workerJwksUrl', kind: 'url', schemes: HTTP },
  { key: 'workerIssuer', kind: 'string' },
  { key: 'workerAudience', kind: 'string', default: 'codeq-worker' },
  { key: 'allowProducerAsWorker', kind: 'bool', default: false },
  { key: 'localArtifactsDir', kind: 'string' },
  { key: 'natsUrl', kind: 'url', schemes: ['nats:', 'tls:', 'ws:', 'wss:'], list: true },
  { key: 'redisUrl', kind: 'url', schemes: ['redis:', 'rediss:'], accept: acceptRedisClusterUrl },
  // Checked node by node in checkCrossKeys (parseClusterNodes).
  { key: 'redisClusterNodes', kind: 'string' },
  {
    key: 'streamName',
    kind: 'string',
    default: 'CODEQ_TASKS',
    pattern: NAME_RE,
    rule: '[A-Za-z0-9_-]{1,64}',
  },
  {
    key: 'subjectPrefix',
    kind: 'string',
    default: 'codeq.task',
    pattern: SUBJECT_PREFIX_RE,
    rule: 'dot-separated tokens of [A-Za-z0-9_-], no wildcards',
  },
  {
    key: 'keyPrefix',
    kind: 'string',
    default: 'codeq',
    pattern: KEY_PREFIX_RE,
    rule: '[A-Za-z0-9_:.-]{1,64}',
  },
  int('streamReplicas', 1, 1, 5),
  int('dependencyTimeoutMs', 5000, 100, 120_000),
  int('streamMaxAgeSeconds', 7 * DAY, 0, 3650 * DAY),
  int('completedRetentionSeconds', DAY, 0, 3650 * DAY),
  int('deadRetentionSeconds', 7 * DAY, 0, 3650 * DAY),
  int('idempotencyTtlSeconds', DAY, 1, 365 * DAY),
  int('maxPayloadBytes', 900_000, 1, 64 * 1024 * 1024),
  int('bodyLimitBytes', 1_048_576, 1024, 64 * 1024 * 1024),
  { key: 'devMode', kind: 'bool', default: false },
  { key: 'tokens', kind: 'tokens', default: [] },
  { key: 'dataDir', kind: 'string', default: './.codeq' },
];

/** Accepts a well-formed Redis Cluster URL (throws `INVALID_INPUT` naming `redisUrl` if malformed). */
function acceptRedisClusterUrl(value: string): boolean {
  if (!isClusterUrl(value)) return false;
  try {
    parseRedisTarget(value);
  } catch (err) {
    throw invalid('redisUrl', (err as Error).message, value);
  }
  return true;
}

/** The environment variable of a key: upper snake case (`maxAttemptsDefault` → `MAX_ATTEMPTS_DEFAULT`). */
export function envName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function invalid(key: string, rule: string, value: unknown, cause?: unknown): CodeqError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : JSON.stringify(value);
  return new CodeqError('INVALID_INPUT', `invalid config '${key}': ${rule} (got ${shown ?? String(value)})`, {
    details: { key },
    cause,
  });
}

export function parseEnvValue(spec: KeySpec, raw: string): unknown {
  const source = `${envName(spec.key)}`;
  switch (spec.kind) {
    case 'int':
      // Keep the raw string when it is not a plain integer so validation reports it with the key.
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return raw;
    }
    case 'hostList':
      return raw
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== '');
    case 'tokens':
      try {
        return JSON.parse(raw);
      } catch {
        throw invalid(spec.key, `${source} must be a JSON array of tokens`, raw);
      }
    default:
      return raw;
  }
}

export function validateKey(spec: KeySpec, value: unknown): unknown {
  const { key } = spec;
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max) {
        throw invalid(key, `must be an integer from ${spec.min} to ${spec.max}`, value);
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(key, 'must be true or false', value);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) {
        throw invalid(key, `must be one of ${spec.values.join(', ')}`, value);
      }
      return value;
    case 'string':
      if (typeof value !== 'string' || (!spec.allowEmpty && value === '')) {
        throw invalid(key, spec.allowEmpty ? 'must be a string' : 'must be a non-empty string', value);
      }
      if (spec.pattern && !spec.pattern.test(value)) throw invalid(key, `must match ${spec.rule}`, value);
      return value;
    case 'url': {
      const rule = `must be ${spec.list ? 'comma-separated ' : 'an absolute '}${spec.schemes.join('//, ')}// URL${spec.list ? 's' : ''}`;
      if (typeof value !== 'string' || value === '') throw invalid(key, rule, value);
      if (spec.accept?.(value)) return value;
      for (const part of spec.list ? value.split(',') : [value]) {
        let url: URL;
        try {
          url = new URL(part.trim());
        } catch {
          throw invalid(key, rule, value);
        }
        if (!spec.schemes.includes(url.protocol) || url.hostname === '') throw invalid(key, rule, value);
      }
      return value;
    }
    case 'tokens':
      return validateTokens(value);
    case 'hostList': {
      if (!Array.isArray(value) || !value.every((h) => typeof h === 'string' && h.trim() !== '')) {
        throw invalid(
          key,
          'must be a list of hosts, *.domains, IPs or CIDRs (each optionally with :port)',
          value,
        );
      }
      try {
        parseAllowList(value as string[]);
      } catch (err) {
        // The parser names the entry and why (a bad port, a bad CIDR…); say it as a config error.
        const details = err instanceof CodeqError ? err.details : undefined;
        if (typeof details?.reason !== 'string') throw err;
        throw invalid(key, `entry '${String(details.entry)}': ${details.reason}`, value, err);
      }
      return [...(value as string[])];
    }
  }
}

const TOKEN_KEYS = new Set(['token', 'role', 'subject', 'eventTypes', 'scopes']);

export function validateTokens(value: unknown): StaticToken[] {
  if (!Array.isArray(value))
    throw invalid('tokens', 'must be a list of {token, role, subject, eventTypes, scopes}', value);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const at = `tokens[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw invalid(at, 'must be a mapping {token, role, subject, eventTypes, scopes}', entry);
    }
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!TOKEN_KEYS.has(k))
        throw invalid(
          `${at}.${k}`,
          'unknown token key (allowed: token, role, subject, eventTypes, scopes)',
          k,
        );
    }
    if (typeof e.token !== 'string' || e.token.length < 8 || /\s/.test(e.token)) {
      throw invalid(`${at}.token`, 'must be a string of at least 8 characters without spaces', '<hidden>');
    }
    if (seen.has(e.token)) throw invalid(`${at}.token`, 'must be unique', '<hidden>');
    seen.add(e.token);
    if (typeof e.role !== 'string' || !TOKEN_ROLES.includes(e.role as TokenRole)) {
      throw invalid(`${at}.role`, `must be one of ${TOKEN_ROLES.join(', ')}`, e.role);
    }
    const role = e.role as TokenRole;
    if (typeof e.subject !== 'string' || e.subject.length === 0 || e.subject.length > 256) {
      throw invalid(`${at}.subject`, 'must be a string of 1 to 256 characters', e.subject);
    }
    const list = (name: 'eventTypes' | 'scopes', def: string[]): string[] => {
      const v = e[name];
      if (v === undefined) return def;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
        throw invalid(`${at}.${name}`, 'must be a list of non-empty strings', v);
      }
      return [...(v as string[])];
    };
    const eventTypes = list('eventTypes', ['*']);
    for (const t of eventTypes) {
      if (t !== '*' && !/^[A-Za-z0-9_-]{1,128}$/.test(t)) {
        throw invalid(`${at}.eventTypes`, "each must be '*' or a command name [A-Za-z0-9_-]{1,128}", t);
      }
    }
    const scopes = list('scopes', role === 'worker' ? [...WORKER_SCOPES] : []);
    return { token: e.token, role, subject: e.subject, eventTypes, scopes };
  });
}
