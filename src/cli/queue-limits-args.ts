/**
 * The limit flags of `codeq queue limits` (`--concurrency N|none`, `--rate N/INTERVAL|none`, ...)
 * turned into a limits patch, and limits written back the same way for output. The ranges are the
 * contract's (`contract/queue-controls.ts`), checked here so a mistake is a usage error naming the
 * flag before anything is sent.
 */
import {
  CONCURRENCY_MAX,
  RATE_INTERVAL_MS_MAX,
  RATE_INTERVAL_MS_MIN,
  RATE_LIMIT_MAX,
  type QueueLimits,
  type QueueLimitsPatch,
  type RateLimit,
} from '../contract/queue-controls.js';
import { parseDuration, parseIntFlag, UsageError } from './cli-args.js';

/** The word that removes a limit. */
const NONE = 'none';

/** Parses `N` (1..{@link CONCURRENCY_MAX}) or `none` (remove the limit: `null`). */
export function parseConcurrencyFlag(text: string, flag: string): number | null {
  if (text.trim().toLowerCase() === NONE) return null;
  return parseIntFlag(text, flag, { min: 1, max: CONCURRENCY_MAX })!;
}

/**
 * Parses `N/INTERVAL` (at most N claims per interval: `100/1s`, `5/500ms`, `1000/1m`; a bare
 * interval number is seconds) or `none` (remove the limit: `null`).
 */
export function parseRateFlag(text: string, flag: string): RateLimit | null {
  if (text.trim().toLowerCase() === NONE) return null;
  const parts = text.split('/');
  if (parts.length !== 2 || !parts[0]!.trim() || !parts[1]!.trim())
    throw new UsageError(`${flag}: '${text}' is not N/INTERVAL (e.g. 100/1s, 5/500ms, 1000/1m) or none`);
  const limit = parseIntFlag(parts[0]!.trim(), flag, { min: 1, max: RATE_LIMIT_MAX })!;
  const intervalMs = parseDuration(parts[1]!, flag);
  if (intervalMs < RATE_INTERVAL_MS_MIN || intervalMs > RATE_INTERVAL_MS_MAX)
    throw new UsageError(
      `${flag}: the interval must be ${formatInterval(RATE_INTERVAL_MS_MIN)}..${formatInterval(RATE_INTERVAL_MS_MAX)}`,
    );
  return { limit, intervalMs };
}

/** The flags of `codeq queue limits`, as `util.parseArgs` gives them. */
export interface LimitFlags {
  /** `--concurrency`. */
  concurrency?: string | undefined;
  /** `--group-concurrency`. */
  'group-concurrency'?: string | undefined;
  /** `--rate`. */
  rate?: string | undefined;
  /** `--group-rate`. */
  'group-rate'?: string | undefined;
}

/** Turns the limit flags into a patch; at least one flag is required. */
export function parseLimitFlags(values: LimitFlags): QueueLimitsPatch {
  const patch: QueueLimitsPatch = {};
  if (values.concurrency !== undefined)
    patch.concurrency = parseConcurrencyFlag(values.concurrency, '--concurrency');
  if (values['group-concurrency'] !== undefined)
    patch.groupConcurrency = parseConcurrencyFlag(values['group-concurrency'], '--group-concurrency');
  if (values.rate !== undefined) patch.rate = parseRateFlag(values.rate, '--rate');
  if (values['group-rate'] !== undefined)
    patch.groupRate = parseRateFlag(values['group-rate'], '--group-rate');
  if (Object.keys(patch).length === 0)
    throw new UsageError('give at least one of --concurrency, --group-concurrency, --rate, --group-rate');
  return patch;
}

/** An interval in the largest whole unit: `1h`, `2m`, `1s`, `500ms`. */
export function formatInterval(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Limits as one line, in the flags' own syntax: `concurrency 3, group-rate 10/1s` (`none` when none). */
export function formatLimits(limits: QueueLimits): string {
  const parts: string[] = [];
  if (limits.concurrency !== undefined) parts.push(`concurrency ${limits.concurrency}`);
  if (limits.groupConcurrency !== undefined) parts.push(`group-concurrency ${limits.groupConcurrency}`);
  if (limits.rate) parts.push(`rate ${limits.rate.limit}/${formatInterval(limits.rate.intervalMs)}`);
  if (limits.groupRate)
    parts.push(`group-rate ${limits.groupRate.limit}/${formatInterval(limits.groupRate.intervalMs)}`);
  return parts.length ? parts.join(', ') : NONE;
}
