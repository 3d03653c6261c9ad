/**
 * Debian's Chromium driven by playwright-core for the dashboard tests (never a browser download),
 * a path-prefix proxy, a seeding HTTP helper, and the screenshots of docs/dashboard.md.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/** The Chromium binary: `CODEQ_CHROMIUM`, else Debian's. */
export const CHROMIUM = process.env.CODEQ_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet headless run in a container (no sandbox, no GPU, no background traffic). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium; throws (the tests fail, they do not skip) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the dashboard tests need it (apt-get install chromium; .ci/run installs it) or CODEQ_CHROMIUM=<path>`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A laptop's viewport and a phone's (the screenshots' sizes). */
export const LAPTOP = { width: 1280, height: 860 };
export const PHONE = { width: 375, height: 812 };

/** Opens the dashboard at `url` and signs in with `token`; resolves once the header shows `role`. */
export async function signIn(page: Page, url: string, token: string, role: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.role', { hasText: role }).waitFor();
}

/** Where `npm run docs:screenshots` writes (docs/images/dashboard-<name>.png). */
const IMAGES = 'docs/images';

/**
 * Writes docs/images/dashboard-<name>.png when `CODEQ_SCREENSHOTS=1` (`npm run docs:screenshots`);
 * an ordinary test run leaves the committed images alone.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.CODEQ_SCREENSHOTS !== '1') return;
  mkdirSync(IMAGES, { recursive: true });
  await page.screenshot({ path: `${IMAGES}/dashboard-${name}.png`, fullPage: false, animations: 'disabled' });
}

/** A running reverse proxy serving `target` under `prefix`, and the paths it forwarded. */
export interface PrefixProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Paths as the proxy received them (with the prefix). */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A reverse proxy like an nginx `location /codeq/ { proxy_pass http://codeq/; }`: strips `prefix`,
 * sets `Host` to the upstream and `X-Forwarded-Host` to the original, and streams answers (SSE).
 */
export async function startPrefixProxy(target: string, prefix: string): Promise<PrefixProxy> {
  const upstream = new URL(target);
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push(url);
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404).end();
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: url.slice(prefix.length),
        headers: { ...req.headers, host: upstream.host, 'x-forwarded-host': req.headers.host ?? '' },
      },
      (answer) => {
        // A redirect to an upstream path stays under the prefix.
        const location = answer.headers.location;
        if (location?.startsWith('/')) answer.headers.location = `${prefix}${location}`;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.headersSent || res.writeHead(502).end());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON call to the codeq server as `token`; answers the status and the parsed body. */
export async function api(
  root: string,
  token: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${root}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}
