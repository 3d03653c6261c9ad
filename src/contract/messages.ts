/**
 * Error strings the contract fixes: every transport answers them verbatim, and the engine refuses
 * in-process calls with the same ones. Schema fields carry them as `x-error` (see
 * {@link validationMessage}).
 */
export const MESSAGES = {
  /** A command name outside `COMMAND_PATTERN`. */
  command: 'invalid command',
  /** A `runAt` that is not a strict RFC3339 time. */
  runAt: "invalid 'runAt' (use RFC3339)",
  /** A `delaySeconds` that is not a whole number in range. */
  delaySeconds: "invalid 'delaySeconds' (must be >= 0)",
  /** A task webhook refused by `webhookUrlProblem` (src/webhooks/url-safety.ts). */
  webhook: 'invalid webhook url',
  groupKey: "invalid 'groupKey' (1..128 characters of letters, digits and _ . : @ -)",
  /** A cleanup `before` that is not a strict RFC3339 time. */
  before: "invalid 'before' (use RFC3339)",
  /** A DLQ delete naming no tasks: emptying a DLQ is said with `all: true`. */
  dlqDeleteAll: "a DLQ delete needs 'taskIds', a 'filter', or 'all': true",
  /** `all: true` beside `taskIds` or `filter`: which one was meant is unclear. */
  dlqAllWithSelection: "'all' cannot be combined with 'taskIds' or 'filter'",
  /** A subscription callback refused by the URL policy. */
  callbackUrl: 'invalid callback url',
  /** A subscription `deliveryMode` other than fanout, group, hash. */
  deliveryMode: 'invalid deliveryMode',
  /** A subscription `groupId` outside `GROUP_ID_PATTERN`. */
  groupId: 'invalid groupId',
  /** A `traceParent` that is not a W3C traceparent (src/contract/trace-context.ts). */
  traceParent: "invalid 'traceParent' (W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>)",
  /** A `traceState` that is not a W3C tracestate, or one without a `traceParent`. */
  traceState: "invalid 'traceState' (W3C tracestate, with a traceParent)",
} as const;

/**
 * codeQ's authentication and authorization strings (its `internal/middleware` and identity
 * validator), answered verbatim: codeQ's `test/local_flow.py` retries a claim on `jwks fetch error`
 * and `invalid signature`. 401 unless said otherwise.
 */
export const AUTH_MESSAGES = {
  /** No `Authorization` header, or a blank one. */
  missingHeader: 'missing Authorization header',
  /** An `Authorization` header that is not `Bearer <token>`. */
  badFormat: 'invalid Authorization format',
  /** A bearer token that is neither a configured static token nor a JWT. */
  invalidToken: 'invalid token',
  /** A JWT that does not split into a header, claims and a signature codeq can read. */
  tokenFormat: 'invalid token format',
  /** A JWT whose `alg` is not RS256. */
  unsupportedAlg: 'unsupported alg',
  /** A JWT whose `kid` is in no configured key set. */
  unknownKid: 'unknown kid',
  /** A JWT whose signature the key of its `kid` does not verify. */
  invalidSignature: 'invalid signature',
  /** A JWT past `exp` (plus `allowedClockSkewSeconds`). */
  tokenExpired: 'token expired',
  /** A JWT without `exp`. */
  missingExp: 'missing exp',
  /** A JWT not valid yet (`nbf`, `iat` in the future). */
  notYetValid: 'token used before issued',
  /** A JWT whose `iss` is not the configured issuer. */
  invalidIssuer: 'invalid issuer',
  /** A JWT whose `aud` does not name the configured audience. */
  invalidAudience: 'invalid audience',
  /** A JWT without a usable `sub`. */
  invalidClaims: 'invalid claims',
  /** The key set could not be fetched (codeq answers 503 with `Retry-After`: the token may be fine). */
  jwksFetch: 'jwks fetch error',
  /** A worker JWT without `eventTypes`. */
  missingEventTypes: 'missing eventTypes',
  /** A worker JWT without scopes (401), or without the route's scope (403). */
  missingScope: 'missing scope',
  /** A caller that is not an admin on an admin route. */
  adminOnly: 'unauthorized. Admin only',
  /** 403: a viewer (the dashboard's read-only role) called a route that changes something. */
  viewerReadOnly: 'forbidden. Viewer role is read-only',
  /** 403: a mutating request whose `Origin` is not the server's own host (a cross-site form or script). */
  crossOrigin: 'cross-origin request refused',
} as const;
