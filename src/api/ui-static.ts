/**
 * Serves the dashboard's built front-end (`dist/ui/`, built by Vite from `ui/`) at `/ui/`, same
 * port as the API. Files only, read from one directory (no path leaves it), with headers that keep
 * the pages from being framed or leaking the URL, and a CSP that allows nothing but this origin (the
 * build has no inline script and no CDN). Off (`uiEnabled: false`): `/ui` answers 404; enabled but
 * not built (running from source): 503 saying to run `npm run build`.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Headers of every `/ui` answer. */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where the build is: `dist/ui/` beside the compiled `dist/src/`, or, running from source
 * (`src/api/` under tsx), the repository's `dist/ui/`.
 */
export function defaultUiDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes(`${sep}dist${sep}src${sep}`)
    ? resolve(here, '../../ui')
    : resolve(here, '../../dist/ui');
}

/** Options of {@link registerUi}. */
export interface UiOptions {
  /** Serve at all (`uiEnabled`); false: nothing is registered, `/ui` is an unknown route (404). */
  enabled: boolean;
  /** The built front-end's directory; default {@link defaultUiDir}. */
  dir?: string | undefined;
}

/** Registers `/ui` (redirect) and `/ui/*` (files; `index.html` for the directory itself). */
export function registerUi(app: FastifyInstance, options: UiOptions): void {
  if (!options.enabled) return;
  const root = resolve(options.dir ?? defaultUiDir());
  const secure = (reply: FastifyReply) => reply.headers(UI_SECURITY_HEADERS);
  const hidden = { schema: { hide: true } };

  app.get('/ui', hidden, async (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    // Relative, so a proxy's path prefix (`/codeq/ui` → `/codeq/ui/`) is kept.
    return secure(reply).redirect(`ui/${query}`, 301);
  });

  app.get<{ Params: { '*': string } }>('/ui/*', hidden, async (request, reply) => {
    secure(reply);
    if (!(await isDirectory(root))) {
      return reply
        .code(503)
        .send({ error: 'the dashboard is not built: run `npm run build` (it builds ui/ into dist/ui/)' });
    }
    const wanted = request.params['*'] === '' ? 'index.html' : request.params['*'];
    const path = resolve(join(root, wanted));
    // Nothing outside the build's directory, whatever the path says (`..`, encoded or not).
    if (path !== root && !path.startsWith(root + sep)) return reply.code(404).send({ error: 'not found' });
    // Nor through a symbolic link: the file itself, links resolved, must be inside the (resolved) root.
    const [realRoot, real] = await Promise.all([realpath(root), realpath(path).catch(() => undefined)]);
    if (real === undefined || !real.startsWith(realRoot + sep))
      return reply.code(404).send({ error: 'not found' });
    const file = await readFile(real).catch(() => undefined);
    if (file === undefined) return reply.code(404).send({ error: 'not found' });
    const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    // Vite names built assets by content hash: cache them; the page itself is always revalidated.
    const cache = wanted.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    return reply.type(type).header('cache-control', cache).send(file);
  });
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}
