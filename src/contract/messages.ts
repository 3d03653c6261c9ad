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
