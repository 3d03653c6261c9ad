/**
 * The configuration keys as data: one row per key drives its default, how the environment spells
 * it, its validation and its error message (config-validation.ts applies the rows).
 */
import type { QueueLimitsPatch } from './contract/queue-controls.js';
import type { StaticToken } from './config-schema.js';
import { acceptRedisClusterUrl } from './config-validation.js';
import {
  ARTIFACT_BYTES_LIMIT,
  ARTIFACT_MAX_BYTES_DEFAULT,
  ARTIFACTS_MAX_BYTES_PER_RESULT_DEFAULT,
} from './contract/limits.js';

const DAY = 86_400;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SUBJECT_PREFIX_RE = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
const KEY_PREFIX_RE = /^[A-Za-z0-9_:.-]{1,64}$/;

/** How one configuration key is defaulted, parsed from the environment and validated. */
export type KeySpec =
  | { key: string; kind: 'int'; default?: number; min: number; max: number }
  | { key: string; kind: 'bool'; default: boolean }
  | { key: string; kind: 'enum'; default: string; values: readonly string[] }
  | {
      key: string;
      kind: 'string';
      default?: string;
      pattern?: RegExp;
      rule?: string;
      allowEmpty?: boolean;
      /** A credential: error messages show `<hidden>` instead of the value. */
      secret?: boolean;
    }
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
  | { key: string; kind: 'queueLimits'; default: Record<string, QueueLimitsPatch> }
  | { key: string; kind: 'hostList'; default: string[] };

const int = (key: string, def: number, min: number, max: number): KeySpec => ({
  key,
  kind: 'int',
  default: def,
  min,
  max,
});
const HTTP = ['http:', 'https:'] as const;

/** Every configuration key (each documented in docs/configuration.md). */
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
  { key: 'payloadFormat', kind: 'enum', default: 'string', values: ['string', 'object'] },
  { key: 'localArtifactsDir', kind: 'string' },
  int('artifactMaxBytes', ARTIFACT_MAX_BYTES_DEFAULT, 0, ARTIFACT_BYTES_LIMIT),
  int('artifactsMaxBytesPerResult', ARTIFACTS_MAX_BYTES_PER_RESULT_DEFAULT, 0, ARTIFACT_BYTES_LIMIT),
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
  { key: 'natsApiEnabled', kind: 'bool', default: true },
  {
    key: 'natsApiPrefix',
    kind: 'string',
    default: 'codeq',
    pattern: NAME_RE,
    rule: '[A-Za-z0-9_-]{1,64} (one subject token)',
  },
  int('dependencyTimeoutMs', 5000, 100, 120_000),
  int('streamMaxAgeSeconds', 7 * DAY, 0, 3650 * DAY),
  int('completedRetentionSeconds', DAY, 0, 3650 * DAY),
  int('deadRetentionSeconds', 7 * DAY, 0, 3650 * DAY),
  int('idempotencyTtlSeconds', DAY, 1, 365 * DAY),
  int('maxPayloadBytes', 900_000, 1, 64 * 1024 * 1024),
  int('bodyLimitBytes', 1_048_576, 1024, 64 * 1024 * 1024),
  { key: 'devMode', kind: 'bool', default: false },
  { key: 'tokens', kind: 'tokens', default: [] },
  { key: 'queueLimits', kind: 'queueLimits', default: {} },
  {
    key: 'metricsToken',
    kind: 'string',
    pattern: /^[!-~]{16,512}$/,
    rule: '[!-~]{16,512} (printable ASCII, no spaces)',
    secret: true,
  },
  { key: 'dataDir', kind: 'string', default: './.codeq' },
];
