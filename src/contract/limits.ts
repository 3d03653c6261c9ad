/**
 * Every limit of codeq's request contract, written once. The TypeBox schemas of `src/contract` (what
 * HTTP validates and `/openapi.json` documents) and the engine's own checks of in-process calls both
 * read these, so a value allowed on one path is allowed on every path. The values are those of
 * docs/api.md, the limits codeQ's clients rely on.
 *
 * Not here: sizes an operator configures (`maxPayloadBytes`, `bodyLimitBytes`, `backoffMaxSeconds`,
 * `defaultLeaseSeconds`: see src/config-key-specs.ts) and the stored events' schema
 * (src/events/task-event.schema.ts), which must keep reading old events if a limit here ever tightens.
 */

/** Longest command name, characters. */
export const COMMAND_MAX_LENGTH = 128;

/**
 * A command name: letters, digits, `_` and `-`, 1..{@link COMMAND_MAX_LENGTH} characters. Commands
 * become NATS subject tokens, so `.`, `*`, `>` and whitespace can never appear.
 */
export const COMMAND_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${COMMAND_MAX_LENGTH}}$`);

/** Longest task id, characters (a UUID has 36). */
export const TASK_ID_MAX_LENGTH = 64;

/** A task id: 1..{@link TASK_ID_MAX_LENGTH} subject-safe characters (UUIDs match). */
export const TASK_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${TASK_ID_MAX_LENGTH}}$`);

/** Longest worker id (the token's subject), characters. */
export const WORKER_ID_MAX_LENGTH = 256;

/** Longest idempotency key, characters; the key may not contain whitespace. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 256;

/** Lowest task priority (the default). */
export const PRIORITY_MIN = 0;

/** Highest task priority. */
export const PRIORITY_MAX = 9;

/** Highest `maxAttempts` a task may ask for (`<= 0` means the configured default). */
export const MAX_ATTEMPTS_MAX = 1000;

/** Longest enqueue delay (`delaySeconds`), seconds: one year. */
export const DELAY_SECONDS_MAX = 365 * 86_400;

/** Longest URL (task webhook, subscription callback, artifact url), characters. */
export const URL_MAX_LENGTH = 4096;

/** Longest free-text reason (nack, cancel), characters. */
export const REASON_MAX_LENGTH = 4096;

/** Longest error text of a failed result, characters. */
export const ERROR_MAX_LENGTH = 65_536;

/** Most artifacts on one result. */
export const ARTIFACTS_MAX = 100;

/** Longest artifact name and content type, characters. */
export const ARTIFACT_NAME_MAX_LENGTH = 256;

/**
 * The name of an artifact stored from inline content (`contentBase64`): a file name of
 * 1..{@link ARTIFACT_NAME_MAX_LENGTH} characters without `/`, `\\` or control characters, and not
 * `.` or `..`, so it can never leave its task's directory.
 */
// eslint-disable-next-line no-control-regex -- control characters are what the rule keeps out
export const ARTIFACT_FILE_NAME_PATTERN = /^(?!\.{1,2}$)[^/\\\x00-\x1f\x7f]{1,256}$/;

/** Default of `artifactMaxBytes`: largest decoded inline artifact, bytes (10 MiB). */
export const ARTIFACT_MAX_BYTES_DEFAULT = 10 * 1024 * 1024;

/** Default of `artifactsMaxBytesPerResult`: largest decoded inline artifacts of one result, bytes (32 MiB). */
export const ARTIFACTS_MAX_BYTES_PER_RESULT_DEFAULT = 32 * 1024 * 1024;

/** Highest value of either artifact size key, bytes (1 GiB); 0 turns inline artifacts off. */
export const ARTIFACT_BYTES_LIMIT = 1024 * 1024 * 1024;

/** Longest W3C `traceparent` a task may carry (`traceParent`), characters (version 00 has 55). */
export const TRACEPARENT_MAX_LENGTH = 256;

/** Longest W3C `tracestate` a task may carry (`traceState`), characters (the spec's 512). */
export const TRACESTATE_MAX_LENGTH = 512;

/** Most list members of a `tracestate` (the spec's 32). */
export const TRACESTATE_MEMBERS_MAX = 32;

/** Longest RFC3339 time string, characters. */
export const RFC3339_MAX_LENGTH = 64;

/** Most tasks in one batch create (`POST /tasks/batch`, `enqueueMany`). */
export const ENQUEUE_BATCH_MAX = 1000;

/** Most results in one batch submit (`POST /tasks/results`, `submitResults`). */
export const RESULT_BATCH_MAX = 1000;

/** Most tasks one claim may take (`count`). */
export const CLAIM_COUNT_MAX = 256;

/** Most command names one claim may list (`commands`); also a subscription's `eventTypes`. */
export const CLAIM_COMMANDS_MAX = 64;

/** Shortest lease and lease extension (`leaseSeconds`, `extendSeconds`), seconds. */
export const LEASE_SECONDS_MIN = 1;

/** Longest lease and lease extension (`leaseSeconds`, `extendSeconds`), seconds: one day. */
export const LEASE_SECONDS_MAX = 86_400;

/**
 * Longest long-poll (`waitSeconds` of a claim or a log tail), seconds. A claim may ask for more; it
 * waits this long at most.
 */
export const WAIT_SECONDS_MAX = 30;

/**
 * Longest wait for a result (`waitSeconds` of `GET /tasks/:id/result`), seconds: codeQ's cap. A
 * longer wait is refused by the engine; HTTP caps it here, as codeQ does.
 */
export const RESULT_WAIT_SECONDS_MAX = 60;

/** Most tasks one codeQ batch claim may take (`count` of `POST /tasks/claim/batch`): codeQ's cap. */
export const BATCH_CLAIM_COUNT_MAX = 10;

/** Most tasks in one listing page (`limit`), and its default. */
export const PAGE_LIMIT_MAX = 1000;

/** Tasks in a listing page when `limit` is absent. */
export const PAGE_LIMIT_DEFAULT = 100;

/** Longest listing cursor, characters. */
export const CURSOR_MAX_LENGTH = 512;

/** Most tasks one cleanup call deletes (`limit`). */
export const CLEANUP_LIMIT_MAX = 100_000;

/** Tasks one cleanup call deletes when `limit` is absent. */
export const CLEANUP_LIMIT_DEFAULT = 1000;

/** Most task ids in one DLQ requeue. */
export const REQUEUE_IDS_MAX = 10_000;

/** Most events in one page of the log (`GET /admin/events`). */
export const EVENTS_LIMIT_MAX = 10_000;

/** Events in one page of the log when `limit` is absent. */
export const EVENTS_LIMIT_DEFAULT = 1000;

/** Longest subscription lifetime (`ttlSeconds`), seconds; at least 1. */
export const SUBSCRIPTION_TTL_SECONDS_MAX = 86_400;

/** Subscription lifetime when `ttlSeconds` is absent, seconds. */
export const SUBSCRIPTION_TTL_SECONDS_DEFAULT = 300;

/** Longest gap between a subscription's notifications (`minIntervalSeconds`), seconds; at least 0. */
export const SUBSCRIPTION_MIN_INTERVAL_SECONDS_MAX = 86_400;

/** Lowest progress a worker may report (`progress`, percent). */
export const PROGRESS_MIN = 0;

/** Highest progress a worker may report (`progress`, percent). */
export const PROGRESS_MAX = 100;

/**
 * Largest `data` of one progress report, bytes of its JSON: it is stored in the task's event and
 * view, so a report stays small (a step name, counters), not a result.
 */
export const PROGRESS_DATA_MAX_BYTES = 4096;

/** A subscription's `groupId`: 1..128 of letters, digits, `_`, `.`, `:` and `-`. */
export const GROUP_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The priority a task gets: out-of-range integers are clamped to
 * {@link PRIORITY_MIN}..{@link PRIORITY_MAX} rather than refused (codeQ's rule).
 */
export function clampPriority(priority: number): number {
  return Math.min(PRIORITY_MAX, Math.max(PRIORITY_MIN, priority));
}

/**
 * codeQ's rule for optional numbers: `0` means "not given", as absent does (Go decodes an absent
 * field to 0, so codeQ cannot tell them apart, and its clients send 0 for "use the default"). Applies
 * to a claim's `leaseSeconds`, a heartbeat's `extendSeconds`, a nack's `delaySeconds` (0: the
 * backoff policy), a subscription's `ttlSeconds` and a cleanup's `limit`, on every transport.
 * @returns `fallback` for `undefined` or 0, else `value`.
 */
export function zeroAsDefault<T, F>(value: T | undefined, fallback: F): T | F {
  return value === undefined || value === 0 ? fallback : value;
}
