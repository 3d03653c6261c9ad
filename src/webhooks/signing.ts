/**
 * Webhook signatures, exactly as codeQ's contract defines them: `X-CodeQ-Timestamp` is the Unix time
 * in seconds and `X-CodeQ-Signature` the lower-case hex HMAC-SHA256 of `<timestamp>.<body>` under
 * `webhookHmacSecret`. The timestamp is inside the signed text so a captured request cannot be
 * replayed later with a fresh timestamp.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signing time (Unix seconds). */
export const TIMESTAMP_HEADER = 'X-CodeQ-Timestamp';
/** Header carrying the hex HMAC-SHA256 signature. */
export const SIGNATURE_HEADER = 'X-CodeQ-Signature';

/**
 * The signature of `body` signed at `timestamp`.
 *
 * @param secret - `webhookHmacSecret` (UTF-8).
 * @param timestamp - Unix seconds, as sent in `X-CodeQ-Timestamp`.
 * @param body - the exact request body bytes (as a UTF-8 string).
 * @returns lower-case hex HMAC-SHA256 of `<timestamp>.<body>`.
 */
export function signBody(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The signing headers of one request, or none when no secret is configured.
 *
 * @param secret - `webhookHmacSecret`; empty means unsigned.
 * @param body - the exact body that will be sent.
 * @param now - current time, epoch ms (default `Date.now()`).
 */
export function signatureHeaders(
  secret: string,
  body: string,
  now: number = Date.now(),
): Record<string, string> {
  if (secret === '') return {};
  const timestamp = Math.floor(now / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signBody(secret, timestamp, body) };
}

/**
 * Verifies a received webhook the way a receiver should (exported for receivers written in
 * TypeScript and for the tests): the signature must match, compared in constant time, and the
 * timestamp must be within `toleranceSeconds` of now.
 *
 * @param secret - the shared secret.
 * @param timestamp - the `X-CodeQ-Timestamp` header value.
 * @param signature - the `X-CodeQ-Signature` header value.
 * @param body - the raw body as received.
 * @param toleranceSeconds - accepted clock difference, default 300 s.
 * @param now - current time, epoch ms (default `Date.now()`).
 */
export function verifySignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
  toleranceSeconds = 300,
  now: number = Date.now(),
): boolean {
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signBody(secret, Number(timestamp), body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
