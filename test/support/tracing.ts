/**
 * An OpenTelemetry SDK for tests: a tracer provider exporting to memory and an async-local-storage
 * context manager, registered globally. `uninstall()` disables both, so the next test file (or the
 * rest of this one) runs with the API's no-op again.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/** The installed SDK. */
export interface TestTracing {
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** The ended spans named `name`. */
  named(name: string): ReadableSpan[];
  /** Forgets the spans ended so far. */
  reset(): void;
  /** Unregisters the provider and the context manager. */
  uninstall(): Promise<void>;
}

/** Registers an in-memory tracing SDK globally. */
export function installTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(manager) || !trace.setGlobalTracerProvider(provider)) {
    throw new Error('an OpenTelemetry SDK is already registered: a test file did not uninstall its own');
  }
  return {
    spans: () => exporter.getFinishedSpans(),
    named: (name) => exporter.getFinishedSpans().filter((s) => s.name === name),
    reset: () => exporter.reset(),
    async uninstall() {
      trace.disable();
      context.disable();
      await provider.shutdown();
    },
  };
}
