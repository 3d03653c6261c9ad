/**
 * Configuration of a codeq server: the codeQ contract's keys plus codeq's own. This is the only
 * module that reads `process.env` or files for configuration; everything else receives a
 * {@link CodeqConfig}. Precedence, lowest first: defaults, YAML file, environment, command-line flags.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { BackoffPolicyName } from './actors/task.types.js';
import type { EngineSettings } from './engine/engine.types.js';
import { CodeqError } from './errors.js';
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
  /** Redis URL; unset = launch a local redis-server. */
  redisUrl?: string | undefined;
  /** JetStream stream name, default `CODEQ_TASKS`. */
  streamName: string;
  /** Subject prefix of task events, default `codeq.task`. */
  subjectPrefix: string;
  /** Prefix of every Redis key, default `codeq`. */
  keyPrefix: string;
  /** Stream replicas, default 1. */
  streamReplicas: number;
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

/** Where {@link loadConfig} reads from; every source is optional. */
export interface LoadConfigOptions {
  /** Command-line arguments (`--config <path>`, `--dev`); other flags are ignored. Default none. */
  argv?: readonly string[];
  /** Environment; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** YAML file path; wins over `--config` and `CODEQ_CONFIG`. Default: none unless those are set. */
  file?: string;
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

/** Every configuration key with its default value (optional keys absent). */
export function defaultConfig(): CodeqConfig {
  const config: Record<string, unknown> = {};
  for (const spec of KEY_SPECS)
    if (spec.default !== undefined) config[spec.key] = structuredClone(spec.default);
  config.localArtifactsDir = join(config.dataDir as string, 'artifacts');
  return config as unknown as CodeqConfig;
}

/**
 * Loads and validates the configuration. Throws `INVALID_INPUT` naming the key and its allowed values
 * for a bad value, an unknown key in the file, or an unreadable file.
 */
export function loadConfig(options: LoadConfigOptions = {}): CodeqConfig {
  const env = options.env ?? process.env;
  const argv = options.argv ?? [];
  const flags = parseFlags(argv);
  const path = options.file ?? flags.config ?? nonEmpty(env.CODEQ_CONFIG);
  const merged: Record<string, unknown> = {};
  if (path !== undefined) Object.assign(merged, readFileLayer(path));
  for (const spec of KEY_SPECS) {
    const raw = env[envName(spec.key)];
    if (raw === undefined || raw === '') continue;
    merged[spec.key] = parseEnvValue(spec, raw);
  }
  if (flags.dev) merged.devMode = true;
  const config = defaultConfig();
  const artifactsGiven = merged.localArtifactsDir !== undefined;
  for (const spec of KEY_SPECS) {
    if (!(spec.key in merged)) continue;
    (config as unknown as Record<string, unknown>)[spec.key] = validateKey(spec, merged[spec.key]);
  }
  if (!artifactsGiven) config.localArtifactsDir = join(config.dataDir, 'artifacts');
  checkCrossKeys(config);
  return config;
}

/**
 * Throws `INVALID_INPUT` when a server would accept no credentials at all: no static token, no dev
 * mode and no JWKS URL. Servers call this before listening.
 */
export function assertAuthConfigured(config: CodeqConfig): void {
  if (config.tokens.length > 0 || config.devMode) return;
  if (config.identityJwksUrl || config.workerJwksUrl) return;
  throw new CodeqError(
    'INVALID_INPUT',
    'no authentication configured: set `tokens` in the config file, `identityJwksUrl`/`workerJwksUrl` ' +
      '(env IDENTITY_JWKS_URL / WORKER_JWKS_URL), or enable dev mode explicitly with DEV_MODE=true or --dev',
  );
}

/** The tokens a server accepts: the configured ones, plus {@link DEV_TOKENS} in dev mode. */
export function effectiveTokens(config: CodeqConfig): StaticToken[] {
  return config.devMode ? [...config.tokens, ...DEV_TOKENS] : [...config.tokens];
}

/** The engine's tunables derived from the configuration (seconds become milliseconds). */
export function toEngineSettings(config: CodeqConfig): EngineSettings {
  return {
    defaultLeaseSeconds: config.defaultLeaseSeconds,
    requeueInspectLimit: config.requeueInspectLimit,
    maxAttemptsDefault: config.maxAttemptsDefault,
    backoff: {
      policy: config.backoffPolicy,
      baseSeconds: config.backoffBaseSeconds,
      maxSeconds: config.backoffMaxSeconds,
    },
    maxPayloadBytes: config.maxPayloadBytes,
    idempotencyTtlMs: config.idempotencyTtlSeconds * 1000,
    completedRetentionMs: config.completedRetentionSeconds * 1000,
    deadRetentionMs: config.deadRetentionSeconds * 1000,
    // Not configurable yet: the contract has no key for them.
    sweepIntervalMs: 1000,
    maxWaitSeconds: 30,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function parseFlags(argv: readonly string[]): { config?: string; dev: boolean } {
  const out: { config?: string; dev: boolean } = { dev: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--dev') out.dev = true;
    else if (arg.startsWith('--config=')) out.config = arg.slice('--config='.length);
    else if (arg === '--config') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new CodeqError('INVALID_INPUT', '--config needs a file path');
      }
      out.config = next;
      i++;
    }
  }
  return out;
}

function readFileLayer(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CodeqError('INVALID_INPUT', `cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CodeqError(
      'INVALID_INPUT',
      `config file ${path} is not valid YAML: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CodeqError('INVALID_INPUT', `config file ${path} must be a YAML mapping of keys to values`);
  }
  const known = new Set(KEY_SPECS.map((s) => s.key));
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) {
      throw new CodeqError('INVALID_INPUT', `unknown config key '${key}' in ${path}`, { details: { key } });
    }
  }
  return doc as Record<string, unknown>;
}

function checkCrossKeys(config: CodeqConfig): void {
  if (config.maxPayloadBytes > config.bodyLimitBytes) {
    throw new CodeqError(
      'INVALID_INPUT',
      `maxPayloadBytes (${config.maxPayloadBytes}) must be <= bodyLimitBytes (${config.bodyLimitBytes})`,
      { details: { key: 'maxPayloadBytes' } },
    );
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

type KeySpec =
  | { key: string; kind: 'int'; default?: number; min: number; max: number }
  | { key: string; kind: 'bool'; default: boolean }
  | { key: string; kind: 'enum'; default: string; values: readonly string[] }
  | { key: string; kind: 'string'; default?: string; pattern?: RegExp; rule?: string; allowEmpty?: boolean }
  | { key: string; kind: 'url'; default?: string; schemes: readonly string[]; list?: boolean }
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

const KEY_SPECS: readonly KeySpec[] = [
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
  { key: 'redisUrl', kind: 'url', schemes: ['redis:', 'rediss:'] },
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

/** The environment variable of a key: upper snake case (`maxAttemptsDefault` → `MAX_ATTEMPTS_DEFAULT`). */
export function envName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function invalid(key: string, rule: string, value: unknown): CodeqError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : JSON.stringify(value);
  return new CodeqError('INVALID_INPUT', `invalid config '${key}': ${rule} (got ${shown ?? String(value)})`, {
    details: { key },
  });
}

function parseEnvValue(spec: KeySpec, raw: string): unknown {
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

function validateKey(spec: KeySpec, value: unknown): unknown {
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
        throw invalid(key, 'must be a list of hosts, *.domains, IPs or CIDRs', value);
      }
      parseAllowList(value as string[]);
      return [...(value as string[])];
    }
  }
}

const TOKEN_KEYS = new Set(['token', 'role', 'subject', 'eventTypes', 'scopes']);

function validateTokens(value: unknown): StaticToken[] {
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
