/**
 * Authentication (who is calling: static token or JWT) and authorization (may they call this
 * route). Routes declare an {@link AuthPolicy}; {@link createAuthHook} enforces it before the body
 * is parsed, so unauthenticated callers cannot make the server read large bodies.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { CodeqConfig, StaticToken } from '../../config.js';
import { WORKER_SCOPES, effectiveTokens } from '../../config.js';
import { AUTH_MESSAGES } from '../../contract/messages.js';
import type { AuthPolicy, Principal, RequestFacts } from './auth.types.js';
import { AuthError } from './auth.types.js';
import type { JwtVerifierOptions } from './jwt-verifier.js';
import { createJwtVerifier } from './jwt-verifier.js';

/** Authenticates bearer credentials and checks route policies. */
export interface Authenticator {
  /** The principal behind an `Authorization` header value; throws {@link AuthError} 401/403. */
  authenticate(header: string | undefined): Promise<Principal>;
  /**
   * The principal as the policy sees it (a producer on a worker route becomes a worker with every
   * scope, for its own eventTypes, when `allowProducerAsWorker` is on); throws {@link AuthError} 403 when not allowed.
   */
  authorize(principal: Principal, policy: AuthPolicy, facts?: RequestFacts): Principal;
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions extends JwtVerifierOptions {
  /** Static tokens; default {@link effectiveTokens}(config) (configured tokens, plus dev tokens in dev mode). */
  tokens?: readonly StaticToken[];
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64');

/** Builds the authenticator for a config. */
export function createAuthenticator(config: CodeqConfig, options: AuthenticatorOptions = {}): Authenticator {
  // Tokens are looked up by digest so a lookup never compares the secret itself character by character.
  const byDigest = new Map<string, Principal>();
  for (const t of options.tokens ?? effectiveTokens(config)) {
    const scopes = new Set(t.scopes);
    const role = t.role === 'admin' || scopes.has('codeq:admin') ? 'admin' : t.role;
    byDigest.set(digest(t.token), {
      subject: t.subject,
      role,
      scopes,
      eventTypes: t.eventTypes,
      source: 'static',
    });
  }
  const jwt = createJwtVerifier(config, options);

  return {
    async authenticate(header) {
      if (header === undefined || header.trim() === '') throw new AuthError(401, AUTH_MESSAGES.missingHeader);
      const token = /^Bearer\s+(\S{1,8192})\s*$/i.exec(header)?.[1];
      if (token === undefined) throw new AuthError(401, AUTH_MESSAGES.badFormat);
      const known = byDigest.get(digest(token));
      if (known) return known;
      // Only something shaped like a JWT goes to the verifier (saves a JWKS fetch for garbage).
      if (jwt && token.split('.').length === 3) return jwt(token);
      throw new AuthError(401, AUTH_MESSAGES.invalidToken);
    },

    authorize(principal, policy, facts) {
      if (principal.role === 'admin') return principal;
      if (principal.role === 'viewer') {
        if (viewerMay(policy, facts)) return principal;
        throw new AuthError(403, AUTH_MESSAGES.viewerReadOnly);
      }
      if (policy.kind === 'admin' && devAdmin(config, principal, facts)) {
        // codeQ's dev mode: a producer without a role of its own is an admin when it says so.
        return { ...principal, role: 'admin' };
      }
      switch (policy.kind) {
        case 'any':
          return principal;
        case 'producer':
          if (principal.role === 'producer') return principal;
          throw new AuthError(403, 'forbidden: producer token required');
        case 'admin':
          throw new AuthError(401, AUTH_MESSAGES.adminOnly);
        case 'worker':
          if (principal.role === 'worker') {
            if (principal.scopes.has(policy.scope)) return principal;
            throw new AuthError(403, AUTH_MESSAGES.missingScope);
          }
          if (config.allowProducerAsWorker) {
            // codeQ's dev fallback: a producer acts as a worker with every scope, for the commands
            // it may produce (codeQ granted every command, which let a limited producer read and
            // change other commands' tasks through the worker routes).
            return { ...principal, role: 'worker', scopes: new Set(WORKER_SCOPES) };
          }
          throw new AuthError(403, 'forbidden: worker token required');
      }
    },
  };
}

/** Reads only: GET/HEAD on a route that reads (never a producer route or a worker's lease operation). */
function viewerMay(policy: AuthPolicy, facts: RequestFacts | undefined): boolean {
  const method = facts?.method?.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return false;
  switch (policy.kind) {
    case 'any':
      return true;
    case 'admin':
      return policy.acts !== true;
    case 'worker':
      return policy.viewerReads === true;
    case 'producer':
      return false;
  }
}

/**
 * codeQ's dev-mode admin (`setProducerContext` + `RequireAdmin`): `X-Role: ADMIN` from a producer
 * whose token carries no role of its own, when `devMode` is on. codeq also requires the request to
 * come from loopback, so a dev server bound to a public interface does not hand admin to anyone with
 * a producer token.
 */
function devAdmin(config: CodeqConfig, principal: Principal, facts: RequestFacts | undefined): boolean {
  return (
    config.devMode &&
    facts !== undefined &&
    facts.loopback &&
    principal.role === 'producer' &&
    principal.roleClaim === undefined &&
    facts.xRole?.trim().toUpperCase() === 'ADMIN'
  );
}

/** True for an address of the loopback interface (127.0.0.0/8, ::1, and IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller (set by the auth hook; absent on open routes). */
    principal?: Principal;
  }
}

/** The caller of a guarded route (throws when a route forgot its guard: a bug, answered 500). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route has no auth guard');
  return request.principal;
}

/** An `onRequest` hook enforcing `policy`: 401/403 `{error}` answers, `request.principal` on success. */
export function createAuthHook(auth: Authenticator, policy: AuthPolicy): onRequestAsyncHookHandler {
  return async function authHook(request: FastifyRequest, reply: FastifyReply) {
    try {
      const principal = await auth.authenticate(request.headers.authorization);
      const xRole = request.headers['x-role'];
      request.principal = auth.authorize(principal, policy, {
        xRole: Array.isArray(xRole) ? xRole[0] : xRole,
        // The socket's peer, never a forwarded-for header: it cannot be claimed by the caller.
        loopback: isLoopback(request.socket.remoteAddress),
        method: request.method,
      });
    } catch (err) {
      if (err instanceof AuthError) {
        if (err.status === 401) reply.header('www-authenticate', 'Bearer');
        return reply.code(err.status).send({ error: err.message });
      }
      throw err;
    }
  };
}
