/** Small assertion helpers shared by the integration tests. */
import { expect } from 'vitest';
import { UsageError } from '../../src/cli/cli-args.js';
import { CodeqError } from '../../src/errors.js';

/** Resolves with the CodeqError a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<CodeqError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CodeqError);
    return err as CodeqError;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The message of the CLI usage error `fn` throws (fails the test when it throws none or another). */
export function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}
