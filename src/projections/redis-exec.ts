/**
 * Maps Redis failures to `UNAVAILABLE` (one place for every caller): a refused or lost connection,
 * a command past its `commandTimeout`, a cluster slot without a reachable master.
 */
import { CodeqError } from '../errors.js';

/** The `UNAVAILABLE` error of a failed Redis call (kept as is when it already is a `CodeqError`). */
export function redisUnavailable(err: unknown, what = 'redis'): CodeqError {
  if (err instanceof CodeqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CodeqError('UNAVAILABLE', `${what}: ${message}`, { cause: err });
}

/** Awaits one Redis call; its failure becomes `UNAVAILABLE`. */
export async function orUnavailable<T>(call: Promise<T>, what?: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw redisUnavailable(err, what);
  }
}

/** Executes `pipeline`; rejects with `UNAVAILABLE` if it, or any command in it, failed. */
export async function execOrThrow(pipeline: {
  exec(): Promise<[Error | null, unknown][] | null>;
}): Promise<unknown[]> {
  let results: [Error | null, unknown][] | null;
  try {
    results = await pipeline.exec();
  } catch (err) {
    throw new CodeqError('UNAVAILABLE', 'redis did not answer', { cause: err });
  }
  if (!results) throw new CodeqError('UNAVAILABLE', 'redis pipeline was discarded');
  return results.map(([err, value]) => {
    if (err) throw new CodeqError('UNAVAILABLE', `redis: ${err.message}`, { cause: err });
    return value;
  });
}
