/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
 * values a task carries from its producer to its worker (codeQ's `traceParent`/`traceState` task
 * fields). Pure checks, shared by HTTP and the engine; codeq only carries the values, it starts no
 * spans.
 */
import { TRACEPARENT_MAX_LENGTH, TRACESTATE_MAX_LENGTH, TRACESTATE_MEMBERS_MAX } from './limits.js';

// version-traceid-parentid-flags, lowercase hex. Version 00 has exactly these four fields; a later
// version may append `-<more>` (the spec's forward compatibility); version ff is invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);

// A list member `key=value`: key is `simple` or `tenant@system`; value is 1..256 printable ASCII
// characters other than `,` and `=`, not ending in a space.
const TRACESTATE_KEY =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** True when `value` is a valid W3C `traceparent` header value. */
export function isTraceParent(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > TRACEPARENT_MAX_LENGTH) return false;
  const m = TRACEPARENT.exec(value);
  if (!m) return false;
  const [, version, traceId, parentId, , rest] = m;
  if (version === 'ff' || traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return false;
  // Version 00 allows nothing after the flags.
  return !(version === '00' && rest !== undefined);
}

/** True when `value` is a valid W3C `tracestate` header value (at most 32 `key=value` members). */
export function isTraceState(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > TRACESTATE_MAX_LENGTH) return false;
  let members = 0;
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue; // empty members are allowed and ignored
    const eq = member.indexOf('=');
    if (eq <= 0) return false;
    const key = member.slice(0, eq);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(eq + 1)) || keys.has(key))
      return false;
    keys.add(key);
    if (++members > TRACESTATE_MEMBERS_MAX) return false;
  }
  return true;
}
