/**
 * `codeq/server`: the HTTP server and the whole service (engine, webhooks, HTTP) with its
 * configuration, for embedding codeq in another process.
 */
export { buildServer, closeServer } from '../api/server.js';
export { loadConfig } from '../config.js';
export type { CodeqConfig } from '../config.js';
export { startService } from '../service/start-service.js';
export { startWebhooks } from '../webhooks/webhook-service.js';
