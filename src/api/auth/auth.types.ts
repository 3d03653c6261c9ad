/**
 * Who is calling and what they may do. Produced by the authenticator from a static token or a
 * verified JWT; consumed by the route guards.
 */
import { commandAllowed, commandRefusal } from '../../engine/input-validation.js';
import { ApiRefusal } from '../error-mapper.js';

/** A caller's role. `admin` may do everything; `viewer` may read what an admin reads and change nothing. */
export type Role = 'producer' | 'worker' | 'admin' | 'viewer';

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
  /** The JWT's own `role` claim (upper case), when it has one: dev mode's `X-Role` does not apply then. */
  roleClaim?: string;
}

/** What the auth hook tells the authorizer about the request besides its credentials. */
export interface RequestFacts {
  /** The `X-Role` header (codeQ's CLI sends `ADMIN` to a local server), if any. */
  xRole?: string | undefined;
  /** True when the connection comes from the loopback interface (127.0.0.0/8, ::1). */
  loopback: boolean;
  /** The HTTP method: a viewer passes only on reads (GET, HEAD). Absent: treated as a change. */
  method?: string | undefined;
}

/** What a route requires. */
export type AuthPolicy =
  /** Any authenticated caller (reads; a viewer only on GET). */
  | { kind: 'any' }
  /** A producer or an admin (create, cancel). */
  | { kind: 'producer' }
  /**
   * A worker holding `scope`, an admin, or a producer when `allowProducerAsWorker` is on; a viewer
   * only on GET when `viewerReads` is true (listings the dashboard shows).
   */
  | { kind: 'worker'; scope: string; viewerReads?: boolean }
  /**
   * An admin: role admin, scope `codeq:admin`, or JWT claim `role: ADMIN`. A viewer passes on GET
   * unless `acts` is true (a GET that does something to the server, such as a profile capture).
   */
  | { kind: 'admin'; acts?: boolean };

/**
 * An authentication or authorization refusal, answered as 401 or 403 with `{error: message}` (codeQ's
 * strings, `AUTH_MESSAGES`).
 */
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
  return commandAllowed(principal.eventTypes, command);
}

/** Refuses (403 `event type not allowed`) a command the caller named but may not use. */
export function assertCommandAllowed(principal: Principal, command: string): void {
  if (!allowsCommand(principal, command)) throw new ApiRefusal(403, 'event type not allowed');
}

/**
 * Refuses a task read (task, result, history) when the task's command is not among the caller's
 * eventTypes, exactly as an unknown task (`NOT_FOUND`, the route's 404): a limited token learns
 * nothing about other commands' tasks, not even that they exist.
 */
export function assertTaskVisible(principal: Principal, task: { id: string; command: string }): void {
  const refusal = commandRefusal(principal.eventTypes, task);
  if (refusal) throw refusal;
}

/**
 * Refuses (403) an operation over every command (cleanup, log reads, rebuild) to a caller whose
 * eventTypes are limited: it would touch or show other commands' tasks.
 */
export function assertAllCommands(principal: Principal): void {
  if (!principal.eventTypes.includes('*')) {
    throw new ApiRefusal(403, 'forbidden: this operation needs a token for every event type');
  }
}
