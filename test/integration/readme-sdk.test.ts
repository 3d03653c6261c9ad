/**
 * The README's SDK snippet, as written, from a clone: saved as a file inside the clone and run with
 * tsx, its `import … from 'codeq'` resolves to the build `npm start` makes, it enqueues, and its
 * worker completes the task. Only the server URL and the command name are swapped for the test's.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/start-service.js';
import { startTestService } from '../support/service.js';
import { BUILD_TIMEOUT_MS, ensureBuilt } from '../support/build.js';
import { uniqueName } from '../support/servers.js';

let service: RunningService;
const file = join(process.cwd(), '.tmp', `readme-sdk-${randomUUID()}.ts`);

beforeAll(async () => {
  ensureBuilt();
  service = await startTestService('README');
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  rmSync(file, { force: true });
  await service?.stop();
});

describe("the README's SDK snippet", () => {
  it('runs from the clone as written and completes the task it enqueues', async () => {
    const readme = readFileSync('README.md', 'utf8');
    const snippet = /## The SDK\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toMatch(/from 'codeq';/);
    const command = uniqueName('README_EMAIL');
    const code =
      snippet!.replaceAll('http://127.0.0.1:8080', service.url).replaceAll('SEND_EMAIL', command) +
      // The snippet runs forever; report the first completion and stop.
      "\nworker.on('completed', (job, result) => {\n" +
      '  console.log(JSON.stringify({ command: job.command, result }));\n' +
      '  void worker.close().then(() => process.exit(0));\n});\n';
    mkdirSync(join(process.cwd(), '.tmp'), { recursive: true });
    writeFileSync(file, code);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(exitCode, out).toBe(0);
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({
      command,
      result: expect.objectContaining({ status: 'COMPLETED', result: { sent: true } }),
    });
  });
});
