/**
 * Configuration of a codeq server: the codeQ contract's keys plus codeq's own. This is the only
 * module that reads `process.env` or files for configuration; everything else receives a
 * {@link CodeqConfig}. Precedence, lowest first: defaults, YAML file, environment, command-line flags.
 */
import { WAIT_SECONDS_MAX } from './contract/limits.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { EngineSettings } from './engine/engine.types.js';
import { CodeqError } from './errors.js';
import { clusterUrl } from './projections/redis-target.js';
import { KEY_SPECS } from './config-key-specs.js';
import { DEV_TOKENS, type CodeqConfig, type StaticToken } from './config-schema.js';
import { checkCrossKeys, envName, parseEnvValue, validateKey } from './config-validation.js';

export { DEV_TOKENS, WORKER_SCOPES } from './config-schema.js';
export { envName } from './config-validation.js';
export type { CodeqConfig, PayloadFormat, StaticToken, TokenRole } from './config-schema.js';

/** Where {@link loadConfig} reads from; every source is optional. */
export interface LoadConfigOptions {
  /** Command-line arguments (`--config <path>`, `--dev`); other flags are ignored. Default none. */
  argv?: readonly string[];
  /** Environment; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** YAML file path; wins over `--config` and `CODEQ_CONFIG`. Default: none unless those are set. */
  file?: string;
}

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
    const raw = env['env' in spec && spec.env !== undefined ? spec.env : envName(spec.key)];
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
  // One field carries where Redis is: the cluster's nodes become its `redis+cluster://` URL.
  if (config.redisClusterNodes !== undefined) config.redisUrl = clusterUrl(config.redisClusterNodes);
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
    // Live tasks are snapshotted once their oldest event is three quarters of the log's max age old.
    // (A max age of 0 keeps events forever: nothing to snapshot.)
    snapshotAfterMs:
      config.streamMaxAgeSeconds > 0 ? config.streamMaxAgeSeconds * 750 : Number.POSITIVE_INFINITY,
    // Not configurable yet: the contract has no key for them.
    sweepIntervalMs: 1000,
    maxWaitSeconds: WAIT_SECONDS_MAX,
    artifactMaxBytes: config.artifactMaxBytes,
    artifactsMaxBytesPerResult: config.artifactsMaxBytesPerResult,
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
