/**
 * codeq's spans, through `@opentelemetry/api` only: the application registers an OpenTelemetry SDK,
 * or does not and codeq starts no spans. Attribute names follow OpenTelemetry's
 * messaging semantic conventions (development status, copied as strings as they advise for
 * incubating names); `codeq.*` names are codeq's own.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span, Tracer, TracerProvider } from '@opentelemetry/api';
import { COMMAND_PATTERN } from '../contract/limits.js';

/** The instrumentation scope of every codeq span. */
export const TRACER_NAME = 'codeq';

/** Span attribute names (OpenTelemetry messaging semantic conventions, plus codeq's own). */
export const ATTR = {
  /** Always `codeq`. */
  system: 'messaging.system',
  /** `send` (enqueue), `receive` (claim), `settle` (result), `process` (a worker's handler). */
  operationType: 'messaging.operation.type',
  /** codeq's name of the operation: `enqueue`, `claim`, `complete`, `fail`, `result`, `process`. */
  operationName: 'messaging.operation.name',
  /** The command (queue name), when the operation has exactly one. */
  destination: 'messaging.destination.name',
  /** The task id, when the operation is about exactly one task. */
  messageId: 'messaging.message.id',
  /** How many tasks a batch operation carried (enqueue, claim, results). */
  batchCount: 'messaging.batch.message_count',
  /** The worker id a claim or result is made under. */
  clientId: 'messaging.client.id',
  /** The error's code (`CodeqError.code`) or name, on a span that ended in error. */
  errorType: 'error.type',
  /** The delivery a worker's handler runs (1 on the first try). */
  attempt: 'codeq.task.attempt',
} as const;

/** The value of {@link ATTR.system}. */
export const MESSAGING_SYSTEM = 'codeq';

/**
 * codeq's tracer, or undefined when no tracer provider (no OpenTelemetry SDK) is registered: then
 * codeq starts no span at all, not even the API's no-op ones, so tracing costs nothing but this
 * lookup (`bench/tracing-overhead.ts`). Looked up per span rather than kept: it follows an SDK
 * registered, replaced or disabled later. The API's global provider is a proxy whose delegate is the
 * registered SDK; a provider without that method is asked for its tracer as any provider is.
 */
export function tracer(): Tracer | undefined {
  const provider = trace.getTracerProvider() as TracerProvider & {
    getDelegateTracer?: (name: string) => Tracer | undefined;
  };
  return typeof provider.getDelegateTracer === 'function'
    ? provider.getDelegateTracer(TRACER_NAME)
    : provider.getTracer(TRACER_NAME);
}

/**
 * `command` if it is a valid command name (so it may go into a span name: queue names are few),
 * else undefined (an input refused later, whose text must not become a span name).
 */
export function commandName(command: unknown): string | undefined {
  return typeof command === 'string' && COMMAND_PATTERN.test(command) ? command : undefined;
}

/** The one command every item names, or undefined when they name several, none, or an invalid one. */
export function commonCommand(items: readonly unknown[]): string | undefined {
  let common: string | undefined;
  for (const item of items) {
    const command = commandName((item as { command?: unknown } | null)?.command);
    if (command === undefined || (common !== undefined && command !== common)) return undefined;
    common = command;
  }
  return common;
}

/** `codeq <operation>`, or `codeq <operation> <command>` when the command is known. */
export function spanName(operation: string, command: string | undefined): string {
  return command === undefined ? `codeq ${operation}` : `codeq ${operation} ${command}`;
}

/** Records `error` on `span`: the exception, status ERROR with its message, `error.type`. */
export function recordError(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  const code = (err as { code?: unknown }).code;
  span.setAttribute(ATTR.errorType, typeof code === 'string' ? code : err.name);
}
