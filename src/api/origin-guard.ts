/**
 * The second CSRF layer (the first is that codeq sets no cookies, so a cross-site request carries no
 * credential): a mutating request whose `Origin` names another host is refused before
 * authentication, whatever it carries.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_MESSAGES } from '../contract/messages.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The `host[:port]` of an `Origin` header, or `undefined` when it is not a URL (`null`, garbage). */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * True when the request may go on: not mutating, no `Origin` (non-browser clients, same-origin
 * navigations of old browsers), or an `Origin` whose host is the request's `Host` (or
 * `X-Forwarded-Host`, set by a proxy: a browser cannot add it to a cross-site request without a
 * CORS preflight, which codeq never grants).
 */
export function originAllowed(method: string, headers: FastifyRequest['headers']): boolean {
  if (!MUTATING.has(method.toUpperCase())) return true;
  const origin = headers.origin;
  if (origin === undefined) return true;
  const host = originHost(origin);
  if (host === undefined) return false;
  const forwarded = headers['x-forwarded-host'];
  const candidates = [headers.host, ...(Array.isArray(forwarded) ? forwarded : [forwarded])];
  return candidates.some((h) => h !== undefined && h.split(',')[0]?.trim().toLowerCase() === host);
}

/** `onRequest` hook answering 403 `{error: "cross-origin request refused"}` to a cross-site change. */
export async function originGuard(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  if (originAllowed(request.method, request.headers)) return undefined;
  return reply.code(403).send({ error: AUTH_MESSAGES.crossOrigin });
}
