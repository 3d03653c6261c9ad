/**
 * Hash routing: `#/tasks?command=GEN&state=dlq`. The hash never reaches the server, so a reload works
 * under any path prefix, and filters live in the URL (shareable, back/forward restore them).
 */
import { useEffect, useState } from 'preact/hooks';

/** The current route: its path (`/tasks`) and its query parameters. */
export interface Route {
  path: string;
  params: URLSearchParams;
}

/** Parses a location hash into a route (`''` and `#` are the overview, `/`). */
export function parseHash(hash: string): Route {
  const text = hash.replace(/^#/, '');
  const q = text.indexOf('?');
  const path = (q < 0 ? text : text.slice(0, q)) || '/';
  return { path, params: new URLSearchParams(q < 0 ? '' : text.slice(q + 1)) };
}

/** The hash of a route: `#/tasks?command=GEN` (empty parameters are left out). */
export function routeHash(path: string, params: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return `#${path}${text === '' ? '' : `?${text}`}`;
}

/** Goes to a route (a new history entry). */
export function navigate(path: string, params: Record<string, string | undefined> = {}): void {
  location.hash = routeHash(path, params);
}

/** The current route, updated on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
