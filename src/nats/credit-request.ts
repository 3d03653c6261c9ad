/**
 * The body of `codeq.v1.workers.credit` (docs/nats.md, "Push delivery"): which commands, how many
 * tasks the worker may be sent, where to, and for how long the credits stand. Validated before
 * anything is granted, so a refused request leaves no credit behind.
 */
import { CodeqError } from '../errors.js';
import { LEASE_SECONDS_MAX, LEASE_SECONDS_MIN } from '../contract/limits.js';
import { claimCommands } from '../engine/input-validation.js';

/** Most credits one request grants (the claim's own batch limit). */
export const CREDITS_MAX = 256;
/** How long credits stand when the request does not say, ms. */
export const CREDIT_EXPIRES_MS_DEFAULT = 30_000;
/** Longest a credit may stand, ms: a vanished worker's credits stop claiming after this. */
export const CREDIT_EXPIRES_MS_MAX = 300_000;
/** Shortest a credit may stand, ms (shorter would claim for less than a round trip). */
export const CREDIT_EXPIRES_MS_MIN = 100;
/** Longest delivery subject accepted, characters. */
const SUBJECT_MAX_LENGTH = 512;
/** A NATS subject a message can be published to: dot-separated tokens, no wildcards or spaces. */
const PUBLISH_SUBJECT = /^[^.\s*>]+(\.[^.\s*>]+)*$/;

/** A validated credit request. */
export interface CreditRequest {
  /** Commands to claim from (1..64, duplicates dropped); absent in the body: the caller decides. */
  commands: string[] | undefined;
  /** Tasks the worker may be sent (1..{@link CREDITS_MAX}). */
  credits: number;
  /** Where each task is delivered by request (the worker's inbox, or a shared subject). */
  deliverSubject: string;
  /** Lease per delivered task, whole seconds; absent: the server's default. */
  leaseSeconds: number | undefined;
  /** How long the credits stand, ms (default {@link CREDIT_EXPIRES_MS_DEFAULT}). */
  expiresMs: number;
  /** Deliver codeq's full task view (`"view":"full"`) rather than codeQ's Task shape. */
  full: boolean;
  /**
   * Deliver the tasks one claim took together, `{"tasks":[…]}` per request (`"batch":true`), rather
   * than one task per request: fewer round trips for a worker that takes many at once.
   */
  batch: boolean;
}

/** The fields of a credit request body. */
const CREDIT_FIELDS = new Set([
  'commands',
  'credits',
  'deliverSubject',
  'leaseSeconds',
  'expiresMs',
  'view',
  'batch',
]);

function invalid(message: string): never {
  throw new CodeqError('INVALID_INPUT', `invalid body: ${message}`);
}

function wholeIn(value: unknown, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    invalid(`'${name}' must be a whole number in ${min}..${max}`);
  return value as number;
}

/**
 * Refuses a delivery subject that is not a worker's: its own inbox (`_INBOX…`, nats.js's
 * `createInbox`, custom inbox prefixes starting `_INBOX` too) or `<apiRoot>.deliver.<…>`. Why: a
 * delivery is a request made with the codeq instance's NATS permissions, so a subject of the
 * JetStream API (`$JS.API.STREAM.DELETE.…`), of the log or of this API would let a worker token
 * delete streams or write forged events.
 */
export function assertDeliverable(subject: string, apiRoot: string): void {
  if (subject.startsWith('_INBOX') || subject.startsWith(`${apiRoot}.deliver.`)) return;
  invalid(`'deliverSubject' must be an inbox (_INBOX…) or ${apiRoot}.deliver.<…>`);
}

/** Validates a credit request body (already parsed JSON); `INVALID_INPUT` with the reason. */
export function parseCreditRequest(body: unknown): CreditRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('a JSON object expected');
  const b = body as Record<string, unknown>;
  // Strict like every other NATS body (a misspelt `expiresMs` would otherwise pass as the default).
  const unknownField = Object.keys(b).find((k) => !CREDIT_FIELDS.has(k));
  if (unknownField !== undefined) invalid(`unknown field '${unknownField}'`);
  const subject = b['deliverSubject'];
  if (typeof subject !== 'string' || subject.length > SUBJECT_MAX_LENGTH || !PUBLISH_SUBJECT.test(subject))
    invalid("'deliverSubject' must be a NATS subject without wildcards");
  if (b['batch'] !== undefined && typeof b['batch'] !== 'boolean') invalid("'batch' must be a boolean");
  const view = b['view'];
  if (view !== undefined && view !== 'full' && view !== 'codeq') invalid("'view' must be codeq or full");
  return {
    commands: b['commands'] === undefined ? undefined : claimCommands(b['commands']),
    credits: wholeIn(b['credits'], 'credits', 1, CREDITS_MAX),
    deliverSubject: subject,
    leaseSeconds:
      b['leaseSeconds'] === undefined
        ? undefined
        : wholeIn(b['leaseSeconds'], 'leaseSeconds', LEASE_SECONDS_MIN, LEASE_SECONDS_MAX),
    expiresMs:
      b['expiresMs'] === undefined
        ? CREDIT_EXPIRES_MS_DEFAULT
        : wholeIn(b['expiresMs'], 'expiresMs', CREDIT_EXPIRES_MS_MIN, CREDIT_EXPIRES_MS_MAX),
    full: view === 'full',
    batch: b['batch'] === true,
  };
}
