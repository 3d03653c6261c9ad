/**
 * Provisioning of the task stream (the source of truth) and the server checks that go with it.
 * nats-server 2.9 is the floor: it has direct gets, per-subject expected sequences and rollups,
 * which is everything the log uses.
 */
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { errors, nanos, RequestError } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { CodeqError } from '../errors.js';
import { assertValidPrefix, DEFAULT_SUBJECT_PREFIX } from './subjects.js';

/** Default name of the task stream. */
export const DEFAULT_STREAM_NAME = 'CODEQ_TASKS';

/** Oldest nats-server release codeq runs on. */
const MIN_SERVER_VERSION = '2.9.0';

/** JetStream API error code of a stream name that is already in use (a concurrent create). */
const STREAM_NAME_IN_USE = 10058;

/** Options of {@link provisionStream}. */
export interface StreamOptions {
  /** Stream name. Default `CODEQ_TASKS`. */
  name?: string;
  /** Subject prefix; the stream captures `${prefix}.>`. Default `codeq.task`. */
  subjectPrefix?: string;
  /** Replicas: 1 on a single server, 3 in a cluster. Default 1. */
  replicas?: number;
  /** How long events are kept, in milliseconds. Default 7 days. */
  maxAgeMs?: number;
  /** Window in which a repeated `Nats-Msg-Id` is recognised as a duplicate, in milliseconds. Default 2 minutes. */
  duplicateWindowMs?: number;
}

/**
 * Compares two `major.minor.patch[-pre]` versions: negative, zero or positive like a sort
 * comparator. A pre-release sorts before its release (`2.9.0-beta` < `2.9.0`). Unparseable input
 * throws `INVALID_INPUT`.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa.parts[i] ?? 0) - (pb.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === '') return 1;
  if (pb.pre === '') return -1;
  return pa.pre < pb.pre ? -1 : 1;
}

function parseVersion(v: string): { parts: number[]; pre: string } {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim());
  if (!m) throw new CodeqError('INVALID_INPUT', `cannot parse version '${v}'`, { details: { version: v } });
  return { parts: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)], pre: m[4] ?? '' };
}

/** True when `version` is a nats-server release codeq supports (2.9.0 or newer). False when unparseable. */
export function isSupportedServerVersion(version: string): boolean {
  try {
    return compareVersions(version, MIN_SERVER_VERSION) >= 0;
  } catch {
    return false;
  }
}

/**
 * Throws `UNSUPPORTED` unless the connected server is nats-server 2.9 or newer with JetStream
 * enabled. Called before anything touches the stream so an old server fails loudly at start.
 */
export function assertSupportedServer(nc: NatsConnection): void {
  const info = nc.info;
  if (!info) throw new CodeqError('UNAVAILABLE', 'not connected to nats-server');
  if (!isSupportedServerVersion(info.version)) {
    throw new CodeqError(
      'UNSUPPORTED',
      `nats-server ${info.version} is older than 2.9; upgrade nats-server to 2.9.0 or newer`,
      { details: { version: info.version, minimum: MIN_SERVER_VERSION } },
    );
  }
  if (!info.jetstream) {
    throw new CodeqError(
      'UNSUPPORTED',
      `nats-server ${info.version} runs without JetStream; start it with -js (or jetstream {} in its config)`,
      { details: { version: info.version } },
    );
  }
}

/** The stream configuration codeq wants, from options and defaults. */
export function streamConfig(options: StreamOptions = {}): Partial<StreamConfig> & { name: string } {
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  assertValidPrefix(prefix);
  const maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600 * 1000;
  // The server refuses a duplicate window longer than max_age.
  const duplicateWindowMs = Math.min(options.duplicateWindowMs ?? 120_000, maxAgeMs);
  return {
    name: options.name ?? DEFAULT_STREAM_NAME,
    subjects: [`${prefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: options.replicas ?? 1,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(duplicateWindowMs),
    allow_rollup_hdrs: true,
    allow_direct: true,
    discard: DiscardPolicy.Old,
  };
}

/**
 * Creates the task stream, or updates it to the wanted configuration when it exists. Idempotent
 * and safe against a concurrent create by another instance. Refuses servers older than 2.9 and
 * servers without JetStream (`UNSUPPORTED`).
 */
export async function provisionStream(nc: NatsConnection, options: StreamOptions = {}): Promise<StreamInfo> {
  assertSupportedServer(nc);
  const wanted = streamConfig(options);
  const jsm = await openManager(nc);
  // A cluster that is still forming has a meta leader before its peers report in: placing a
  // replicated stream then fails with "no suitable peers" for a moment, which a start rides out.
  const placementDeadline = Date.now() + PLACEMENT_WAIT_MS;
  for (;;) {
    try {
      return await provisionOnce(jsm, wanted);
    } catch (err) {
      if (apiErrCode(err) !== NO_SUITABLE_PEERS || Date.now() > placementDeadline) {
        throw toCodeqError(err, `provision stream ${wanted.name}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** JetStream's "no suitable peers for placement" (a cluster without enough current peers). */
const NO_SUITABLE_PEERS = 10005;
/** Longest a start waits for a forming cluster's peers to place the stream, ms. */
const PLACEMENT_WAIT_MS = 15_000;

async function provisionOnce(
  jsm: JetStreamManager,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<StreamInfo> {
  const existing = await findStream(jsm, wanted.name);
  if (existing) return await updateIfNeeded(jsm, existing, wanted);
  try {
    return await jsm.streams.add(wanted);
  } catch (err) {
    // Another instance created it between our lookup and our create: converge on update.
    if (apiErrCode(err) !== STREAM_NAME_IN_USE) throw err;
    const raced = await findStream(jsm, wanted.name);
    if (!raced) throw err;
    return await updateIfNeeded(jsm, raced, wanted);
  }
}

async function updateIfNeeded(
  jsm: JetStreamManager,
  existing: StreamInfo,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<StreamInfo> {
  const current = existing.config as unknown as Record<string, unknown>;
  const differs = Object.entries(wanted).some(
    ([k, v]) => JSON.stringify(current[k] ?? null) !== JSON.stringify(v ?? null),
  );
  if (!differs) return existing;
  return jsm.streams.update(wanted.name, { ...existing.config, ...wanted });
}

async function findStream(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (apiErrCode(err) === 10059) return undefined; // stream not found
    throw err;
  }
}

/** Deletes a stream and everything in it (tests and admin tooling). Missing streams are ignored. */
export async function deleteStream(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await openManager(nc);
  try {
    await jsm.streams.delete(name);
  } catch (err) {
    if (apiErrCode(err) === 10059) return;
    throw toCodeqError(err, `delete stream ${name}`);
  }
}

/** A JetStreamManager without the account-info round trip (the server check already ran). */
export async function openManager(nc: NatsConnection): Promise<JetStreamManager> {
  return jetstreamManager(nc, { checkAPI: false });
}

/** The JetStream API `err_code` of an error, if it is a JetStream API error. */
export function apiErrCode(err: unknown): number | undefined {
  const api = (err as { apiError?: () => { err_code?: number } } | null)?.apiError;
  return typeof api === 'function' ? api.call(err).err_code : undefined;
}

/**
 * Maps an error of the NATS client to a {@link CodeqError}: timeouts to `TIMEOUT`, closed
 * connections and missing responders to `UNAVAILABLE`, anything else to `INTERNAL` with the
 * JetStream error code. A CodeqError passes through unchanged.
 */
export function toCodeqError(err: unknown, what: string): CodeqError {
  if (err instanceof CodeqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (
    err instanceof errors.TimeoutError ||
    (err instanceof RequestError && err.cause instanceof errors.TimeoutError)
  ) {
    return new CodeqError('TIMEOUT', `${what}: nats-server did not answer in time`, { cause: err });
  }
  if (
    err instanceof errors.ClosedConnectionError ||
    err instanceof errors.DrainingConnectionError ||
    err instanceof errors.NoRespondersError ||
    (err instanceof RequestError && err.isNoResponders())
  ) {
    return new CodeqError('UNAVAILABLE', `${what}: ${message}`, { cause: err });
  }
  const errCode = apiErrCode(err);
  if (errCode === 10059) {
    return new CodeqError('UNAVAILABLE', `${what}: stream not found (not provisioned?)`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  return new CodeqError('INTERNAL', `${what}: ${message}`, {
    cause: err,
    details: errCode === undefined ? undefined : { code, errCode },
  });
}
