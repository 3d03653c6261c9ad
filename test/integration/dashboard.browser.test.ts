/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real codeq
 * server on the suite's NATS and Redis: the overview's queues and counts (live), a search kept in the
 * URL, a task's timeline, a DLQ retry checked through the API, the viewer's refusal, and a run behind
 * a path prefix. One server and one browser for the file. `npm run docs:screenshots` runs this file
 * with CODEQ_SCREENSHOTS=1 to write docs/images/dashboard-*.png.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/start-service.js';
import { BUILD_TIMEOUT_MS, ensureBuilt } from '../support/build.js';
import type { PrefixProxy } from '../support/dashboard-browser.js';
import {
  api,
  launchChromium,
  LAPTOP,
  PHONE,
  screenshot,
  signIn,
  startPrefixProxy,
} from '../support/dashboard-browser.js';
import { startTestService } from '../support/service.js';

const ADMIN = 'dev-admin-token';
const VIEWER = 'dev-viewer-token';
const PRODUCER = 'dev-producer-token';
const WORKER = 'dev-worker-token';
const V1 = '/v1/codeq';
/** Playwright's waits: well under the file's budget, long enough for a loaded two-core machine. */
const WAIT_MS = 10_000;

let service: RunningService;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
/** The task whose timeline is checked: claimed, heartbeat, progress, nacked. */
let storyId: string;
/** The task found by its payload field. */
let customerTaskId: string;
/** Two dead-lettered MAIL tasks. */
let dlqIds: string[];

async function enqueue(
  command: string,
  payload: unknown,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const out = await api(service.url, PRODUCER, `${V1}/tasks`, { command, payload, ...extra });
  expect(out.status, JSON.stringify(out.body)).toBe(202);
  return out.body.id as string;
}

async function worker(path: string, body: unknown = {}): ReturnType<typeof api> {
  const out = await api(service.url, WORKER, `${V1}${path}`, body);
  expect(out.status, `${path}: ${JSON.stringify(out.body)}`).toBeLessThan(300);
  return out;
}

/** The ids in a command's DLQ, from the API. */
async function dlqTaskIds(command: string): Promise<string[]> {
  const page = await api(service.url, ADMIN, `${V1}/admin/dlq/${command}`);
  expect(page.status).toBe(200);
  return page.body.tasks.map((t: { id: string }) => t.id);
}

/** A small system: queues with ready, in-progress, delayed, completed and dead-lettered tasks. */
async function seed(): Promise<void> {
  customerTaskId = await enqueue(
    'GEN',
    { customer: { id: 'c-42' }, pages: 3 },
    { idempotencyKey: 'order-7' },
  );
  for (let i = 0; i < 3; i++) await enqueue('GEN', { customer: { id: `c-${i}` } });
  // One GEN task completed, one held by the worker (in progress).
  const done = await worker('/tasks/claim', { commands: ['GEN'] });
  await worker(`/tasks/${done.body.id}/result`, { status: 'COMPLETED', result: { pages: 3, ok: true } });
  await worker('/tasks/claim', { commands: ['GEN'] });

  storyId = await enqueue('RENDER', { video: 'intro.mp4' }, { maxAttempts: 3 });
  await worker('/tasks/claim', { commands: ['RENDER'] });
  await worker(`/tasks/${storyId}/heartbeat`, { extendSeconds: 120 });
  await worker(`/tasks/${storyId}/progress`, { progress: 40 });
  await worker(`/tasks/${storyId}/nack`, { reason: 'upstream timeout', delaySeconds: 60 });

  dlqIds = [];
  for (const to of ['a@example.test', 'b@example.test']) {
    const id = await enqueue('MAIL', { to });
    await worker('/tasks/claim', { commands: ['MAIL'] });
    await worker(`/tasks/${id}/nack`, { reason: 'mailbox does not exist', deadLetter: true });
    dlqIds.push(id);
  }
  const schedule = await api(service.url, ADMIN, `${V1}/admin/schedules`, {
    name: 'nightly-report',
    command: 'REPORT',
    every: '24h',
    payload: { kind: 'daily' },
  });
  expect(schedule.status, JSON.stringify(schedule.body)).toBe(201);
}

beforeAll(async () => {
  ensureBuilt(); // dist/ui is what the server serves
  browser = await launchChromium();
  service = await startTestService('ui');
  await seed();
  admin = await browser.newContext({ viewport: LAPTOP });
  admin.setDefaultTimeout(WAIT_MS);
  page = await admin.newPage();
  await signIn(page, `${service.url}/ui/`, ADMIN, 'admin');
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('dashboard', () => {
  it('overview: every queue with its counts, live from the log', async () => {
    await page.goto(`${service.url}/ui/#/`);
    const mail = page.getByRole('article', { name: 'MAIL' });
    await expect.poll(() => mail.locator('.count', { hasText: 'DLQ' }).locator('dd').innerText()).toBe('2');
    const gen = page.getByRole('article', { name: 'GEN' });
    expect(await gen.locator('.count', { hasText: 'Ready' }).locator('dd').innerText()).toBe('2');
    expect(await gen.locator('.count', { hasText: 'In progress' }).locator('dd').innerText()).toBe('1');
    expect(await gen.getByRole('img', { name: /enqueued per minute: 4 in the last hour/ }).count()).toBe(1);
    const render = page.getByRole('article', { name: 'RENDER' });
    expect(await render.locator('.count', { hasText: 'Delayed' }).locator('dd').innerText()).toBe('1');
    // Live: an event appended now reaches the page through the stream.
    const live = await enqueue('GEN', { customer: { id: 'live' } });
    await page.locator('.recent li', { hasText: live.slice(0, 8) }).waitFor();
    await screenshot(page, 'overview');
    await page.getByRole('button', { name: 'Pause live' }).click();
    await page.getByRole('button', { name: 'Resume live' }).click();

    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, deviceScaleFactor: 2 });
    const small = await phone.newPage();
    await signIn(small, `${service.url}/ui/`, ADMIN, 'admin');
    await small.getByRole('article', { name: 'MAIL' }).waitFor();
    // Readable on a phone: nothing wider than the screen.
    expect(await small.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      PHONE.width,
    );
    await screenshot(small, 'overview-phone');
    await phone.close();
  });

  it('tasks: a search by payload field, its filters kept in the URL across a reload', async () => {
    await page.goto(`${service.url}/ui/#/tasks`);
    await page.getByLabel('Command').fill('GEN');
    await page.getByLabel('Payload path').fill('customer.id');
    await page.getByLabel('Payload value').fill('c-42');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url()).toContain('payloadPath=customer.id');
    const rows = page.locator('table.tasks tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain(customerTaskId.slice(0, 8));
    await page.reload();
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await page.getByLabel('Payload value').inputValue()).toBe('c-42');
    // An idempotency key search, and the unfiltered list for the screenshot.
    await page.goto(`${service.url}/ui/#/tasks?idempotencyKey=order-7`);
    await expect.poll(() => rows.count()).toBe(1);
    await page.goto(`${service.url}/ui/#/tasks?command=GEN`);
    await expect.poll(() => rows.count()).toBe(5);
    await screenshot(page, 'tasks');
  });

  it("task detail: the timeline of the task's log, who claimed it and why it was nacked", async () => {
    await page.goto(`${service.url}/ui/#/tasks/${storyId}`);
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await timeline.locator('li', { hasText: 'Nacked' }).waitFor();
    expect(await timeline.locator('.event-type').allInnerTexts()).toEqual([
      'enqueued',
      'claimed',
      'heartbeat',
      'progressed',
      'nacked',
    ]);
    const items = await timeline.locator('p').allInnerTexts();
    expect(items[1]).toContain('Claimed by dev-worker (attempt 1)');
    expect(items[4]).toContain('Nacked by dev-worker: “upstream timeout”; retry in 1 min');
    expect(await page.getByLabel('Progress 40 %').getAttribute('value')).toBe('40');
    await screenshot(page, 'task');
  });

  it('DLQ: a retry is counted, confirmed, and the task leaves the DLQ', async () => {
    await page.goto(`${service.url}/ui/#/dlq?command=MAIL`);
    const rows = page.locator('table.tasks tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const [retried, kept] = dlqIds as [string, string];
    await page.getByRole('checkbox', { name: `Select task ${retried}` }).check();
    await page.getByRole('button', { name: 'Retry selected (1)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry 1 task?' });
    await dialog.waitFor();
    await screenshot(page, 'dlq');
    await dialog.getByRole('button', { name: 'Retry 1' }).click();
    await page.getByRole('status').filter({ hasText: 'Requeued 1 task of MAIL.' }).waitFor();
    await expect.poll(() => rows.count()).toBe(1);

    expect(await dlqTaskIds('MAIL')).toEqual([kept]);
    const task = await api(service.url, ADMIN, `${V1}/tasks/${retried}?view=full`);
    expect(task.body.state).toBe('pending');
  });

  it('schedules, subscriptions and workers', async () => {
    await page.goto(`${service.url}/ui/#/schedules`);
    await page.getByRole('cell', { name: 'nightly-report', exact: true }).waitFor();
    await screenshot(page, 'schedules');
    await page.goto(`${service.url}/ui/#/workers`);
    const row = page.getByRole('row', { name: /dev-worker/ });
    await row.waitFor();
    expect(await row.innerText()).toMatch(/dev-worker\s+1\s/);
    await screenshot(page, 'workers');
    await page.goto(`${service.url}/ui/#/subscriptions`);
    await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    await page.getByText('No live subscription.').waitFor();
  });

  it('viewer: sees everything, its actions are disabled, and a forced request is refused', async () => {
    const context = await browser.newContext({ viewport: LAPTOP });
    context.setDefaultTimeout(WAIT_MS);
    const viewer = await context.newPage();
    await signIn(viewer, `${service.url}/ui/`, VIEWER, 'viewer');
    await viewer.getByText('read-only viewer role').waitFor();
    const pause = viewer.getByRole('button', { name: 'Pause queue MAIL' });
    expect(await pause.isDisabled()).toBe(true);
    await viewer.goto(`${service.url}/ui/#/dlq?command=MAIL`);
    await viewer.locator('table.tasks tbody tr').first().waitFor();
    const retry = viewer.getByRole('button', { name: `Retry task ${dlqIds[1]}` });
    expect(await retry.isDisabled()).toBe(true);
    expect(await retry.getAttribute('aria-describedby')).toBe('viewer-note');
    await screenshot(viewer, 'viewer');

    // The same request the button would send, forced from the page with the viewer's token.
    const before = await dlqTaskIds('MAIL');
    const forced = await viewer.evaluate(async (token) => {
      const response = await fetch('/v1/codeq/admin/dlq/MAIL/requeue', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return { status: response.status, body: await response.json() };
    }, VIEWER);
    expect(forced).toEqual({ status: 403, body: { error: 'forbidden. Viewer role is read-only' } });
    expect(await dlqTaskIds('MAIL')).toEqual(before);
    await context.close();
  });

  it('works behind a path prefix (a proxy serving codeq under /codeq/)', async () => {
    let proxy: PrefixProxy | undefined;
    const context = await browser.newContext({ viewport: LAPTOP });
    context.setDefaultTimeout(WAIT_MS);
    try {
      proxy = await startPrefixProxy(service.url, '/codeq');
      const prefixed = await context.newPage();
      await signIn(prefixed, `${proxy.url}/codeq/ui/`, ADMIN, 'admin');
      await prefixed.getByRole('article', { name: 'MAIL' }).waitFor();
      await prefixed.goto(`${proxy.url}/codeq/ui/#/tasks?command=MAIL&state=dlq`);
      const inDlq = (await dlqTaskIds('MAIL')).length;
      await expect.poll(() => prefixed.locator('table.tasks tbody tr').count()).toBe(inDlq);
      // An action through the proxy passes the origin check (the proxy forwards the host).
      await prefixed.goto(`${proxy.url}/codeq/ui/#/`);
      await prefixed.getByRole('button', { name: 'Pause queue RENDER' }).click();
      await prefixed.getByRole('status').filter({ hasText: 'Queue RENDER paused.' }).waitFor();
      await prefixed.getByRole('button', { name: 'Resume queue RENDER' }).click();
      await prefixed.getByRole('status').filter({ hasText: 'Queue RENDER resumed.' }).waitFor();
      expect(proxy.seen.some((p) => p.startsWith('/codeq/v1/codeq/admin/tasks/search?'))).toBe(true);
      expect(proxy.seen.filter((p) => !p.startsWith('/codeq/'))).toEqual([]);
    } finally {
      await context.close();
      await proxy?.close();
    }
  });
});
