/** Runs an ioredis pipeline and maps its failures to `UNAVAILABLE` (one place for every caller). */
import { CodeqError } from '../errors.js';

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
