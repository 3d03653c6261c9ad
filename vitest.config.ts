import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * Integration files that run in one shared worker process (`isolate: false`): each only creates
 * its own uniquely named streams, buckets and keys on the shared servers (or on private servers it
 * starts and stops, never kills), and spawns no processes, so nothing of it outlives the file.
 * Sharing the worker saves each file a fresh process and a fresh import of the service (~1–2.5 s
 * a file on two cores). Every other integration file, and every new one until it is listed here,
 * runs isolated in its own process: those that spawn or kill processes, freeze or restart servers,
 * or install global tracing.
 */
const SHARED_WORKER = [
  'api-artifacts',
  'api-authz',
  'api-cancel-progress',
  'api-codeq-auth-bodies',
  'api-codeq-endpoints',
  'api-codeq-wire',
  'api-contract',
  'api-error-shapes',
  'api-flow',
  'api-jwks-outage',
  'api-jwt-flow',
  'api-profile',
  'api-queue-controls',
  'api-request-log',
  'deploy-metrics',
  'engine-bad-input',
  'engine-batch',
  'engine-cancel-progress',
  'engine-concurrency',
  'engine-flow-control',
  'engine-hand-off',
  'engine-idempotency',
  'engine-lease-cache',
  'engine-lifecycle',
  'engine-ordering',
  'engine-result-retry',
  'engine-smoke',
  'engine-snapshots',
  'event-log',
  'event-publisher',
  'http-send',
  'projection-apply',
  'projection-oldest-ready',
  'projection-rebuild',
  'queue-health-metrics',
  'sdk-cancel-progress',
  'sdk-drain',
  'sdk-producer',
  'sdk-queue-admin',
  'sdk-schedule-admin',
  'sdk-worker',
  'service-queue-limits',
  'webhook-sender',
  'webhooks-availability',
].map((name) => `test/integration/${name}.test.ts`);

/** What both integration projects share: real servers from the global setup, generous timeouts. */
const integration: TestProjectInlineConfiguration['test'] = {
  environment: 'node',
  globalSetup: ['test/integration/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  // Two cores: files run one at a time so fault tests (kill -9, FLUSHALL) never starve others.
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...integration,
          name: 'integration-shared',
          include: SHARED_WORKER,
          isolate: false,
          // After the unit files and before the isolated ones: the two integration projects never
          // run at the same time.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...integration,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: SHARED_WORKER,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
