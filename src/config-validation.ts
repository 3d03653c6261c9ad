/**
 * Validation of configuration values against their {@link KeySpec}: environment strings parsed to
 * values, every value checked with an `INVALID_INPUT` error naming the key, static tokens, and the
 * rules that span keys.
 */
import { COMMAND_PATTERN } from './contract/limits.js';
import { queueLimitsPatchProblem, type QueueLimitsPatch } from './contract/queue-controls.js';
import type { KeySpec } from './config-key-specs.js';
import { WORKER_SCOPES, type CodeqConfig, type StaticToken, type TokenRole } from './config-schema.js';
import { CodeqError } from './errors.js';
import { isClusterUrl, parseClusterNodes, parseRedisTarget } from './projections/redis-target.js';
import { parseAllowList } from './webhooks/url-safety.js';

const TOKEN_ROLES: readonly TokenRole[] = ['producer', 'worker', 'admin', 'viewer'];

/** The environment variable of a key: upper snake case (`maxAttemptsDefault` → `MAX_ATTEMPTS_DEFAULT`). */
export function envName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The `INVALID_INPUT` error of a bad value: names the key and the rule, shows the value (cut to 100 characters). */
function invalid(key: string, rule: string, value: unknown, cause?: unknown): CodeqError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : JSON.stringify(value);
  return new CodeqError('INVALID_INPUT', `invalid config '${key}': ${rule} (got ${shown ?? String(value)})`, {
    details: { key },
    cause,
  });
}

/** Accepts a well-formed Redis Cluster URL (throws `INVALID_INPUT` naming `redisUrl` if malformed). */
export function acceptRedisClusterUrl(value: string): boolean {
  if (!isClusterUrl(value)) return false;
  try {
    parseRedisTarget(value);
  } catch (err) {
    throw invalid('redisUrl', (err as Error).message, value);
  }
  return true;
}

/**
 * An environment string as the value its key takes. Returns the raw string when it does not parse,
 * so {@link validateKey} reports it with the key's rule.
 */
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
    case 'queueLimits':
      try {
        return JSON.parse(raw);
      } catch {
        throw invalid(spec.key, `${source} must be a JSON object of command → limits`, raw);
      }
    default:
      return raw;
  }
}

/** Checks one key's value; returns it (a copy for lists), or throws `INVALID_INPUT` naming the key. */
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
      if (spec.pattern && !spec.pattern.test(value))
        throw invalid(key, `must match ${spec.rule}`, spec.secret ? '<hidden>' : value);
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
    case 'queueLimits':
      return validateQueueLimits(value);
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

/** Checks the static tokens and fills their defaults; throws `INVALID_INPUT` naming the entry. */
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

/** The rules that span keys (payload within body limit, one Redis target, backoff caps >= bases). */
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

/** Checks `queueLimits`: command → limits (as the limits route takes them, without `null`). */
function validateQueueLimits(value: unknown): Record<string, QueueLimitsPatch> {
  const rule = 'must be a mapping of command to limits {concurrency, groupConcurrency, rate, groupRate}';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('queueLimits', rule, value);
  const out: Record<string, QueueLimitsPatch> = {};
  for (const [command, limits] of Object.entries(value)) {
    const at = `queueLimits.${command}`;
    if (!COMMAND_PATTERN.test(command))
      throw invalid(at, 'is not a command name ([A-Za-z0-9_-]{1,128})', command);
    const problem = queueLimitsPatchProblem(limits);
    if (problem !== undefined) throw invalid(at, problem, limits);
    if (Object.values(limits as object).some((v) => v === null))
      throw invalid(at, 'a limit may not be null here', limits);
    out[command] = limits as QueueLimitsPatch;
  }
  return out;
}
