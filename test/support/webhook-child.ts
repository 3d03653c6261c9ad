/**
 * A codeq instance (engine, webhooks, HTTP server) in its own process, for kill -9 tests:
 *
 *   node --import tsx test/support/webhook-child.ts '<json {deployment, env}>'
 *
 * Prints `{"ev":"ready","pid":…}` once it serves; SIGKILL is what the tests use.
 */
import type { TestDeployment } from './engine.js';
import { startInstance } from './webhooks.js';

const raw = process.argv[2];
if (!raw) throw new Error('usage: webhook-child.ts <json {deployment, env}>');
const { deployment, env } = JSON.parse(raw) as { deployment: TestDeployment; env: Record<string, string> };
const instance = await startInstance(deployment, env);
process.stdout.write(`${JSON.stringify({ ev: 'ready', pid: process.pid })}\n`);
process.on('SIGTERM', () => void instance.close().then(() => process.exit(0)));
