/**
 * The contract of a queue's flow controls: pause, concurrency limits and rate limits, per queue and
 * per group key. One definition shared by HTTP (schemas), the engine (validation), the control
 * events in the log and the Redis projection that enforces them in the claim script.
 */
import Type from 'typebox';
import { Compile } from 'typebox/compile';

/** Highest concurrency limit (tasks leased at once), per queue or per group key. */
export const CONCURRENCY_MAX = 1_000_000;

/** Most claims per interval a rate limit may allow. */
export const RATE_LIMIT_MAX = 1_000_000;

/** Shortest rate-limit interval, ms. */
export const RATE_INTERVAL_MS_MIN = 10;

/** Longest rate-limit interval, ms (one day). */
export const RATE_INTERVAL_MS_MAX = 86_400_000;

/** Longest group key, characters. */
export const GROUP_KEY_MAX_LENGTH = 128;

/**
 * A group key (a tenant, a customer): 1..{@link GROUP_KEY_MAX_LENGTH} characters of letters, digits
 * and `_ . : @ -`. It becomes part of Redis key names, so no braces, spaces or wildcards.
 */
export const GROUP_KEY_PATTERN = new RegExp(`^[A-Za-z0-9_.:@-]{1,${GROUP_KEY_MAX_LENGTH}}$`);

/** Longest `retryAfterSeconds` of a rate-limited nack, seconds (one day). */
export const RETRY_AFTER_SECONDS_MAX = 86_400;

/** Most control events one history read answers (the engine's default too). */
export const CONTROLS_LIMIT_MAX = 1000;

/** Control events an HTTP or SDK history read answers when it names no limit. */
export const CONTROLS_LIMIT_DEFAULT = 100;

/** At most `limit` claims per `intervalMs`. */
export interface RateLimit {
  /** Claims allowed per interval, 1..{@link RATE_LIMIT_MAX}. */
  limit: number;
  /** Interval, ms, {@link RATE_INTERVAL_MS_MIN}..{@link RATE_INTERVAL_MS_MAX}. */
  intervalMs: number;
}

/** The limits of one queue; an absent limit is no limit. */
export interface QueueLimits {
  /** Most tasks of the queue leased at once, across every worker and instance. */
  concurrency?: number | undefined;
  /** Most tasks of one group key leased at once. */
  groupConcurrency?: number | undefined;
  /** Most claims of the queue per interval. */
  rate?: RateLimit | undefined;
  /** Most claims of one group key per interval. */
  groupRate?: RateLimit | undefined;
}

/** Everything an operator controls about one queue (the state the control events fold into). */
export interface QueueSettings extends QueueLimits {
  /** A paused queue accepts enqueues and hands out no claims. */
  paused: boolean;
}

/** A queue nobody has controlled: running, unlimited. */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = Object.freeze({ paused: false });

const Concurrency = Type.Integer({ minimum: 1, maximum: CONCURRENCY_MAX });

/** A rate limit on the wire and in the log. */
export const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: RATE_LIMIT_MAX }),
    intervalMs: Type.Integer({ minimum: RATE_INTERVAL_MS_MIN, maximum: RATE_INTERVAL_MS_MAX }),
  },
  { additionalProperties: false },
);

/**
 * A change of limits: a field given sets that limit, `null` removes it, an absent one is left as
 * it is (a JSON merge patch).
 */
export const QueueLimitsPatchSchema = Type.Object(
  {
    concurrency: Type.Optional(Type.Union([Concurrency, Type.Null()])),
    groupConcurrency: Type.Optional(Type.Union([Concurrency, Type.Null()])),
    rate: Type.Optional(Type.Union([RateLimitSchema, Type.Null()])),
    groupRate: Type.Optional(Type.Union([RateLimitSchema, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** A change of limits (see {@link QueueLimitsPatchSchema}). */
export type QueueLimitsPatch = Type.Static<typeof QueueLimitsPatchSchema>;

/** A queue's settings as the log records them after each control event. */
export const QueueSettingsSchema = Type.Object(
  {
    paused: Type.Boolean(),
    concurrency: Type.Optional(Concurrency),
    groupConcurrency: Type.Optional(Concurrency),
    rate: Type.Optional(RateLimitSchema),
    groupRate: Type.Optional(RateLimitSchema),
  },
  { additionalProperties: false },
);

const checkPatch = Compile(QueueLimitsPatchSchema);

/** True when `value` is a valid limits patch (the engine's check of in-process callers). */
export function isQueueLimitsPatch(value: unknown): value is QueueLimitsPatch {
  return checkPatch.Check(value);
}

/** The first problem of an invalid limits patch, for the error message. */
export function queueLimitsPatchProblem(value: unknown): string | undefined {
  if (checkPatch.Check(value)) return undefined;
  const first = [...checkPatch.Errors(value)][0];
  if (!first) return 'invalid limits';
  const path = (first as { instancePath?: string }).instancePath ?? '';
  return `${path.replace(/^\//, '').replace(/\//g, '.') || 'limits'}: ${first.message}`;
}

/** True when a queue has any control that the claim path must check (hand-offs skip such queues). */
export function isControlled(settings: QueueSettings): boolean {
  return (
    settings.paused ||
    settings.concurrency !== undefined ||
    settings.groupConcurrency !== undefined ||
    settings.rate !== undefined ||
    settings.groupRate !== undefined
  );
}
