/**
 * Inline result artifacts (issue 14, item 2) over real HTTP against a real engine. The request is
 * what codeQ's SDKs send (`ArtifactIn{name, url?, contentBase64?, contentType?}`: Go SDK
 * `sdks/go/types.go`, Python `sdks/python/src/codeq/types.py`), and the answer what codeQ's server
 * gives (`internal/services/results_service.go`, `internal/providers/uploader.go` at HEAD): inline
 * content is stored under the artifacts directory, `results/<taskId>/…/<name>`, and answered as
 * `{name, url: "file://…"}`; an artifact with a `url` keeps it. Clients only read `name` and `url`
 * (`ArtifactOut{name, url}` in every SDK), so codeq adds `size`, `sha256` and `href`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeqServer } from '../../src/api/server.js';
import { closeServer } from '../../src/api/server.js';
import { Engine } from '../../src/engine/engine.js';
import type { TestDeployment } from '../support/engine.js';
import { dropDeployment, engineOptions, testDeployment } from '../support/engine.js';
import { listenTestApi } from '../support/api-server.js';
import { callApi } from '../support/http.js';
import { uniqueName } from '../support/servers.js';

const OTHER = uniqueName('OTHER');
const TOKENS = [
  { token: 'ar-producer', role: 'producer', subject: 'ar-producer' },
  { token: 'ar-narrow-producer', role: 'producer', subject: 'ar-narrow', eventTypes: [OTHER] },
  { token: 'ar-worker', role: 'worker', subject: 'ar-worker', eventTypes: ['*'] },
  { token: 'ar-admin', role: 'admin', subject: 'ar-admin' },
];
const P = 'ar-producer';
const W = 'ar-worker';
const LIMIT = 64;

let deployment: TestDeployment;
let engine: Engine;
let app: CodeqServer;
let base: string;
let dir: string;

const api = (path: string, token: string, body?: unknown) => callApi(base, `/v1/codeq${path}`, token, body);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A task of a fresh command, claimed by the worker. */
async function claimedTask(): Promise<string> {
  const cmd = uniqueName('ART');
  const task = (await api('/tasks', P, { command: cmd, payload: 1 })).body;
  expect((await api('/tasks/claim', W, { commands: [cmd] })).body.id).toBe(task.id);
  return task.id as string;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'codeq-artifacts-'));
  deployment = testDeployment();
  engine = await Engine.create(
    engineOptions(deployment, {
      artifactsDir: dir,
      settings: { artifactMaxBytes: LIMIT, artifactsMaxBytesPerResult: 2 * LIMIT },
    }),
  );
  ({ app, base } = await listenTestApi(engine, TOKENS));
});

afterAll(async () => {
  await closeServer(app);
  await engine.close();
  await dropDeployment(deployment);
  rmSync(dir, { recursive: true, force: true });
});

describe('inline artifacts (contentBase64)', () => {
  it('stores the content under results/<id>/ and answers a file:// url; url artifacts keep theirs', async () => {
    const id = await claimedTask();
    const res = await api(`/tasks/${id}/result`, W, {
      status: 'COMPLETED',
      result: { ok: true },
      artifacts: [
        { name: 'out.txt', contentBase64: b64('hello artifacts'), contentType: 'text/plain' },
        { name: 'report', url: 'https://files.example/report.pdf' },
      ],
    });
    expect(res.status).toBe(200);
    const [stored, linked] = res.body.artifacts;
    expect(stored).toMatchObject({
      name: 'out.txt',
      size: 15,
      sha256: sha('hello artifacts'),
      contentType: 'text/plain',
      href: `/v1/codeq/tasks/${id}/artifacts/out.txt`,
    });
    expect(stored.contentBase64).toBeUndefined();
    expect(stored.url).toMatch(new RegExp(`^file://.*/results/${id}/[0-9a-f]{64}/out\\.txt$`));
    const path = fileURLToPath(stored.url as string);
    expect(path.startsWith(dir)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('hello artifacts');
    expect(linked).toEqual({ name: 'report', url: 'https://files.example/report.pdf' });

    // The log records name, url, size and hash, never the content.
    const history = await api(`/tasks/${id}/history`, P);
    const completed = history.body.events.find((e: { type: string }) => e.type === 'completed');
    expect(JSON.stringify(completed.data)).not.toContain(b64('hello artifacts'));
    expect(completed.data.artifacts[0]).toMatchObject({
      name: 'out.txt',
      size: 15,
      sha256: sha('hello artifacts'),
    });

    // GET /tasks/:id/result shows the same.
    expect((await api(`/tasks/${id}/result`, P)).body.result.artifacts[0]).toMatchObject({ url: stored.url });
  });

  it('serves the content to whoever may read the task, and 404 to others', async () => {
    const id = await claimedTask();
    await api(`/tasks/${id}/result`, W, {
      status: 'FAILED',
      error: 'boom',
      artifacts: [{ name: 'trace log.txt', contentBase64: b64('stack'), contentType: 'text/plain' }],
    });
    const url = `${base}/v1/codeq/tasks/${id}/artifacts/${encodeURIComponent('trace log.txt')}`;
    for (const token of [P, W, 'ar-admin']) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toBe('stack');
    }
    const hidden = await fetch(url, { headers: { authorization: 'Bearer ar-narrow-producer' } });
    expect(hidden.status).toBe(404);
    expect((await fetch(url)).status).toBe(401);
    expect((await api(`/tasks/${id}/artifacts/missing.txt`, P)).status).toBe(404);
  });

  it('answers a retried submission with the recorded artifacts, the file written once', async () => {
    const id = await claimedTask();
    const body = {
      status: 'COMPLETED',
      result: { n: 1 },
      artifacts: [{ name: 'out.bin', contentBase64: b64('same bytes') }],
    };
    const first = await api(`/tasks/${id}/result`, W, body);
    const retry = await api(`/tasks/${id}/result`, W, body);
    expect(retry.status).toBe(200);
    expect(retry.body.artifacts).toEqual(first.body.artifacts);
    expect(readFileSync(fileURLToPath(first.body.artifacts[0].url as string), 'utf8')).toBe('same bytes');
  });

  it('refuses unsafe names, bad base64, duplicates and sizes over the limits, writing nothing', async () => {
    const id = await claimedTask();
    const cases: [unknown[], string][] = [
      [[{ name: '../escape.txt', contentBase64: b64('x') }], "invalid artifact name '../escape.txt'"],
      [[{ name: '..', contentBase64: b64('x') }], "invalid artifact name '..'"],
      [[{ name: 'a/b.txt', contentBase64: b64('x') }], "invalid artifact name 'a/b.txt'"],
      [[{ name: 'x.txt', contentBase64: 'not base64!' }], "artifact 'x.txt': invalid contentBase64"],
      [
        [
          { name: 'd.txt', contentBase64: b64('1') },
          { name: 'd.txt', contentBase64: b64('2') },
        ],
        "duplicate artifact name 'd.txt'",
      ],
      [[{ name: 'big.bin', contentBase64: b64('x'.repeat(LIMIT + 1)) }], "artifact 'big.bin' too large"],
      [
        [
          { name: 'a.bin', contentBase64: b64('x'.repeat(LIMIT)) },
          { name: 'b.bin', contentBase64: b64('x'.repeat(LIMIT)) },
          { name: 'c.bin', contentBase64: b64('x') },
        ],
        'artifacts too large',
      ],
    ];
    for (const [artifacts, message] of cases) {
      const res = await api(`/tasks/${id}/result`, W, { status: 'COMPLETED', result: {}, artifacts });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain(message);
    }
    expect(existsSync(join(dir, 'results', id))).toBe(false);
    expect(existsSync(join(dir, 'escape.txt'))).toBe(false);
    // The task is still the worker's to finish.
    expect((await api(`/tasks/${id}`, P)).body.status).toBe('IN_PROGRESS');
  });

  it('stores the artifacts of a batch submission (codeQ POST /tasks/batch/results)', async () => {
    const id = await claimedTask();
    const res = await api('/tasks/batch/results', W, {
      results: [
        {
          taskId: id,
          status: 'COMPLETED',
          result: {},
          artifacts: [{ name: 'batch.txt', contentBase64: b64('from a batch') }],
        },
      ],
    });
    const url = res.body.results[0].result.artifacts[0].url as string;
    expect(readFileSync(fileURLToPath(url), 'utf8')).toBe('from a batch');
  });

  it("removes a task's files when cleanup deletes the task", async () => {
    const id = await claimedTask();
    await api(`/tasks/${id}/result`, W, {
      status: 'COMPLETED',
      result: {},
      artifacts: [{ name: 'gone.txt', contentBase64: b64('soon gone') }],
    });
    expect(existsSync(join(dir, 'results', id))).toBe(true);
    const before = new Date(Date.now() + 60_000).toISOString();
    const cleaned = await api('/admin/tasks/cleanup', 'ar-admin', { before, limit: 100_000 });
    expect(cleaned.status).toBe(200);
    expect(existsSync(join(dir, 'results', id))).toBe(false);
  });
});
