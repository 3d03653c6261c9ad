/**
 * Defaults of the engine's tunables (the contract's values) and their merge with overrides.
 */
import { DEFAULT_BACKOFF } from '../actors/backoff.js';
import {
  ARTIFACT_MAX_BYTES_DEFAULT,
  ARTIFACTS_MAX_BYTES_PER_RESULT_DEFAULT,
  WAIT_SECONDS_MAX,
} from '../contract/limits.js';
import type { EngineSettings } from './engine.types.js';

/** The contract's defaults. */
export const DEFAULT_ENGINE_SETTINGS: Readonly<EngineSettings> = Object.freeze({
  defaultLeaseSeconds: 300,
  requeueInspectLimit: 200,
  maxAttemptsDefault: 5,
  backoff: DEFAULT_BACKOFF,
  maxPayloadBytes: 900_000,
  idempotencyTtlMs: 24 * 3600_000,
  completedRetentionMs: 24 * 3600_000,
  deadRetentionMs: 7 * 24 * 3600_000,
  snapshotAfterMs: (7 * 24 * 3600_000 * 3) / 4,
  sweepIntervalMs: 1000,
  maxWaitSeconds: WAIT_SECONDS_MAX,
  artifactMaxBytes: ARTIFACT_MAX_BYTES_DEFAULT,
  artifactsMaxBytesPerResult: ARTIFACTS_MAX_BYTES_PER_RESULT_DEFAULT,
});

/** Fills every setting not given with its default. */
export function resolveSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
  return {
    ...DEFAULT_ENGINE_SETTINGS,
    ...overrides,
    backoff: { ...DEFAULT_ENGINE_SETTINGS.backoff, ...overrides.backoff },
  };
}
