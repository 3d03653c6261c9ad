/**
 * The token the person typed, kept in sessionStorage: it dies with the tab, is never put in a URL
 * and never in a cookie (no ambient credential, so a cross-site page cannot act with it).
 */
const KEY = 'codeq.token';

/** The stored token, or undefined when signed out. */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

/** Keeps `token` for this tab. */
export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

/** Forgets the token (sign out). */
export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
