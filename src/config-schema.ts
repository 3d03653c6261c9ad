/**
 * The configuration's shape: the {@link CodeqConfig} type, the static token type and the documented
 * dev tokens. Pure; each key's default and range live in config-key-specs.ts, their checks in
 * config-validation.ts, and `config.ts` reads the file, the environment and the flags.
 */
import type { QueueLimitsPatch } from './contract/queue-controls.js';
import type { BackoffPolicyName } from './actors/task.types.js';

/** Every scope a worker can hold (the contract's list). */
export const WORKER_SCOPES = [
  'codeq:claim',
  'codeq:heartbeat',
  'codeq:abandon',
  'codeq:nack',
  'codeq:result',
  'codeq:subscribe',
] as const;

/** How answers write a task's payload: its JSON text (codeQ's wire) or the JSON value. */
export type PayloadFormat = 'string' | 'object';

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
  /**
   * How a Task's `payload` is written in codeQ's Task shape: `string` (default, codeQ's wire: the
   * payload's JSON text, `"payload":"{\"jobId\":1}"`) or `object` (the JSON value itself, what
   * codeQ's Java SDK maps to a `Map`). `?view=full` answers always carry the value.
   */
  payloadFormat: PayloadFormat;
  /**
   * Where results' inline artifacts are stored (`<dir>/results/<taskId>/<sha256>/<name>`); default
   * `<dataDir>/artifacts`. Every instance of a deployment must see the same directory.
   */
  localArtifactsDir: string;
  /** Largest decoded inline artifact, default 10485760 bytes (10 MiB); 0 refuses inline artifacts. */
  artifactMaxBytes: number;
  /** Largest decoded inline artifacts of one result, default 33554432 bytes (32 MiB). */
  artifactsMaxBytesPerResult: number;
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
  /** Serve the NATS-native interface (micro service `codeq` and the publish intake), default true. */
  natsApiEnabled: boolean;
  /**
   * First subject token of the NATS-native interface, default `codeq`: requests go to
   * `<natsApiPrefix>.v1.tasks.enqueue`..., publishes to `<natsApiPrefix>.v1.publish.<command>`.
   */
  natsApiPrefix: string;
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
  /**
   * Limits of queues, by command (`{"email": {"concurrency": 10, "groupConcurrency": 2}}`), set at
   * each server start as a control event (`system:config`) when they differ from the queue's
   * current ones; default none. Limits not named keep what operators set.
   */
  queueLimits: Record<string, QueueLimitsPatch>;
  /**
   * Bearer token `GET /metrics` requires (Prometheus `authorization: {credentials: ...}`), 16 to
   * 512 printable ASCII characters; unset (default): `/metrics` is open, as `/healthz` is.
   */
  metricsToken?: string | undefined;
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
