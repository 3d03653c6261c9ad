/**
 * `npm start` stops everything it started whichever way its process is told to: SIGTERM, SIGINT or
 * SIGHUP sent to the npm process itself (`kill <pid of npm start>`) leaves no codeq server,
 * nats-server or redis-server behind. npm runs with `--ignore-scripts`: the start script itself,
 * without its prestart (ensure-deps could run `npm ci`); the build it needs is made here first.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BUILD_TIMEOUT_MS, ensureBuilt } from '../support/build.js';
import { alive, gone, npmStart } from '../support/npm-start.js';

const dataDirs: string[] = [];
const children: ChildProcess[] = [];

// The start script runs dist/: build it when it is older than the sources (as prestart does).
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

// Each signal has its own npm start, data dir and ports, so the three run at once (one start's wait
// instead of three in a row).
describe.concurrent('signals to the npm start process', () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal} stops the server, its nats-server and its redis-server`, async ({ expect }) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'codeq-signals-'));
      dataDirs.push(dataDir);
      const s = await npmStart(dataDir, ['start', '--ignore-scripts']);
      children.push(s.child);
      const pids = { npm: s.child.pid!, server: s.serverPid, nats: s.natsPid, redis: s.redisPid };
      expect(Object.values(pids).every(alive)).toBe(true);
      process.kill(pids.npm, signal);
      const left: string[] = [];
      for (const [name, pid] of Object.entries(pids))
        if (!(await gone(pid, 20_000))) left.push(`${name} (${pid})`);
      expect(left).toEqual([]);
    });
  }
});
