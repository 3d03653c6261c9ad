/**
 * Who is calling and what they may do. Produced by the authenticator from a static token or a
 * verified JWT; consumed by the route guards.
 */

/** A caller's role. `admin` may do everything. */
export type Role = 'producer' | 'worker' | 'admin';

/** The authenticated caller. */
export interface Principal {
  /** Identity (`sub`): the worker id for workers; recorded as the actor otherwise. */
  subject: string;
  /** Role. */
  role: Role;
  /** Granted scopes (`codeq:claim`...). */
  scopes: ReadonlySet<string>;
  /** Commands the caller may enqueue or claim; contains `*` for all. */
  eventTypes: readonly string[];
  /** Where the credential came from. */
  source: 'static' | 'jwt';
}

/** What a route requires. */
export type AuthPolicy =
  /** Any authenticated caller (reads). */
  | { kind: 'any' }
  /** A producer or an admin (create, cancel). */
  | { kind: 'producer' }
  /** A worker holding `scope`, an admin, or a producer when `allowProducerAsWorker` is on. */
  | { kind: 'worker'; scope: string }
  /** An admin: role admin, scope `codeq:admin`, or JWT claim `role: ADMIN`. */
  | { kind: 'admin' };

/** An authentication or authorization refusal, answered as 401 or 403 with `{error: message}`. */
export class AuthError extends Error {
  /** 401 (no or bad credentials) or 403 (valid credentials, not allowed). */
  readonly status: 401 | 403;

  constructor(status: 401 | 403, message: string) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
  }
}

/** True when `principal` may use `command` (its eventTypes contain it or `*`). */
export function allowsCommand(principal: Principal, command: string): boolean {
  return principal.eventTypes.includes('*') || principal.eventTypes.includes(command);
}
