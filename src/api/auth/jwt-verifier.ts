/**
 * RS256 JWT verification against the identity (producer/admin) and worker JWKS URLs, as codeQ does:
 * `iss`, `aud`, `exp` with `allowedClockSkewSeconds` of tolerance, refusals in codeQ's words
 * (`AUTH_MESSAGES`). Keys are fetched and cached by
 * jose's remote key set. A key set that cannot be fetched (refused, timed out, not 200, not a key
 * set) is the identity provider's outage, not a bad token: it answers a retryable `UNAVAILABLE`.
 */
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { CodeqConfig } from '../../config.js';
import { AUTH_MESSAGES } from '../../contract/messages.js';
import { CodeqError } from '../../errors.js';
import type { Principal } from './auth.types.js';
import { AuthError } from './auth.types.js';

/** Verifies a bearer JWT and turns its claims into a principal. */
export type JwtVerifier = (token: string) => Promise<Principal>;

interface Audience {
  kind: 'identity' | 'worker';
  keys: JWTVerifyGetKey;
  issuer: string | undefined;
  audience: string | undefined;
}

/** Options of {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  /** Key set per JWKS URL; default jose's `createRemoteJWKSet` (tests may pass a local one). */
  keySet?: (url: string) => JWTVerifyGetKey;
}

/**
 * Builds a verifier from the config, or `undefined` when no JWKS URL is configured. A token whose
 * `iss` names one of the configured issuers is checked against that issuer's keys only; otherwise
 * the worker keys are tried first, then the identity keys.
 */
export function createJwtVerifier(
  config: CodeqConfig,
  options: JwtVerifierOptions = {},
): JwtVerifier | undefined {
  // The key fetch is a dependency of the request like NATS and Redis: bounded by the same timeout.
  const remote = (url: string) =>
    createRemoteJWKSet(new URL(url), { timeoutDuration: config.dependencyTimeoutMs });
  const keySet = (url: string) => keysOrUnavailable((options.keySet ?? remote)(url));
  const candidates: Audience[] = [];
  if (config.workerJwksUrl) {
    candidates.push({
      kind: 'worker',
      keys: keySet(config.workerJwksUrl),
      issuer: config.workerIssuer,
      audience: config.workerAudience,
    });
  }
  if (config.identityJwksUrl) {
    candidates.push({
      kind: 'identity',
      keys: keySet(config.identityJwksUrl),
      issuer: config.identityIssuer,
      audience: config.identityAudience,
    });
  }
  if (candidates.length === 0) return undefined;

  return async (token) => {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new AuthError(401, AUTH_MESSAGES.tokenFormat);
    }
    const byIssuer = candidates.filter((c) => c.issuer !== undefined && c.issuer === iss);
    const order =
      byIssuer.length > 0 ? byIssuer : candidates.filter((c) => c.issuer === undefined || c.issuer === iss);
    if (order.length === 0) throw new AuthError(401, AUTH_MESSAGES.invalidIssuer);
    // The failure that got furthest wins: a token whose signature one key set verified but whose
    // claims failed says why, rather than "unknown kid" from the other key set.
    let refusal: { rank: number; error: AuthError } | undefined;
    let unavailable: CodeqError | undefined;
    for (const candidate of order) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, candidate.keys, {
          algorithms: ['RS256'],
          ...(candidate.issuer === undefined ? {} : { issuer: candidate.issuer }),
          ...(candidate.audience === undefined ? {} : { audience: candidate.audience }),
          clockTolerance: config.allowedClockSkewSeconds,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (err) {
        if (err instanceof CodeqError) {
          unavailable = err;
          continue;
        }
        const failure = tokenFailure(err);
        if (!refusal || failure.rank > refusal.rank) refusal = failure;
        continue;
      }
      return toPrincipal(payload, candidate.kind);
    }
    // Keys that could not be fetched may be the ones that verify this token: the caller retries,
    // unless another key set found the token's key and refused the token itself.
    if (refusal && (refusal.rank >= SIGNATURE_RANK || !unavailable)) throw refusal.error;
    throw unavailable ?? new AuthError(401, AUTH_MESSAGES.invalidToken);
  };
}

/** Rank of a failure once the token's key was found (signature and claims checks). */
const SIGNATURE_RANK = 2;

/** codeQ's message for a token jose refused, ranked by how far the check got. */
function tokenFailure(err: unknown): { rank: number; error: AuthError } {
  const refuse = (rank: number, message: string) => ({ rank, error: new AuthError(401, message) });
  if (err instanceof joseErrors.JWTExpired) return refuse(3, AUTH_MESSAGES.tokenExpired);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return refuse(3, AUTH_MESSAGES.invalidIssuer);
      case 'aud':
        return refuse(3, AUTH_MESSAGES.invalidAudience);
      case 'exp':
        return refuse(3, AUTH_MESSAGES.missingExp);
      case 'nbf':
      case 'iat':
        return refuse(3, AUTH_MESSAGES.notYetValid);
      default:
        return refuse(3, AUTH_MESSAGES.invalidClaims);
    }
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return refuse(SIGNATURE_RANK, AUTH_MESSAGES.invalidSignature);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return refuse(1, AUTH_MESSAGES.unsupportedAlg);
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys)
    return refuse(1, AUTH_MESSAGES.unknownKid);
  return refuse(0, AUTH_MESSAGES.tokenFormat);
}

/** True for a failure to get the key set (network, timeout, status, content), not a token problem. */
function isKeySetOutage(err: unknown): boolean {
  if (!(err instanceof joseErrors.JOSEError)) return true; // fetch failures (refused, reset, DNS)
  return (
    err instanceof joseErrors.JWKSTimeout ||
    err instanceof joseErrors.JWKSInvalid ||
    // jose's generic error is only raised for a non-200 answer or a body that is not JSON.
    err.code === joseErrors.JOSEError.code
  );
}

/** Wraps a key lookup so that a key set outage throws `UNAVAILABLE` (jose's own errors otherwise). */
function keysOrUnavailable(keys: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      if (!isKeySetOutage(err)) throw err;
      throw new CodeqError('UNAVAILABLE', 'the token keys (JWKS) could not be fetched', {
        cause: err,
        details: { dependency: 'jwks' },
      });
    }
  };
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((s) => s !== '');
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

function toPrincipal(payload: JWTPayload, kind: Audience['kind']): Principal {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject === '' || subject.length > 256)
    throw new AuthError(401, AUTH_MESSAGES.invalidClaims);
  const scopes = new Set([...stringList(payload.scope), ...stringList(payload.scopes)]);
  const roleClaim = typeof payload.role === 'string' ? payload.role.trim().toUpperCase() : undefined;
  const eventTypes = stringList(payload.eventTypes);
  const allOrListed = eventTypes.length ? eventTypes : ['*'];
  // An admin claim wins over a viewer one; either is a role of its own, whatever the issuer.
  const role =
    scopes.has('codeq:admin') || roleClaim === 'ADMIN'
      ? 'admin'
      : roleClaim === 'VIEWER' || scopes.has('codeq:read')
        ? 'viewer'
        : undefined;
  if (role) return { subject, role, scopes, eventTypes: allOrListed, source: 'jwt' };
  if (kind === 'worker') {
    // codeQ refuses worker tokens without eventTypes or scopes.
    if (eventTypes.length === 0) throw new AuthError(401, AUTH_MESSAGES.missingEventTypes);
    if (scopes.size === 0) throw new AuthError(401, AUTH_MESSAGES.missingScope);
    return { subject, role: 'worker', scopes, eventTypes, source: 'jwt' };
  }
  return {
    subject,
    role: 'producer',
    scopes,
    eventTypes: allOrListed,
    source: 'jwt',
    // A token with its own role is not re-roled by dev mode's `X-Role` (codeQ's rule).
    ...(roleClaim ? { roleClaim } : {}),
  };
}
