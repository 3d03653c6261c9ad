/**
 * codeq's public API (`codeq`): everything of the three entry points, `codeq/client` (the SDK over
 * HTTP, loading no server dependency), `codeq/engine` (in-process) and `codeq/server`. Everything
 * not exported here is internal and may change without notice.
 */
export * from './entries/client.js';
export * from './entries/engine.js';
export * from './entries/server.js';
