/** Sign in: a token (static token or JWT), checked with `GET /ui/api/session` before it is kept. */
import { useState } from 'preact/hooks';
import { call, describeError } from '../api/client';
import type { Session } from '../api/types';

/** The login form; `onLogin` gets the token and its session once the server accepted it. */
export function LoginPage(props: { onLogin: (token: string, session: Session) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const trimmed = token.trim();
      props.onLogin(trimmed, await call<Session>('/ui/api/session', { token: trimmed }));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>codeq dashboard</h1>
      <form onSubmit={submit}>
        <label for="token">Access token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" class="help">
          An admin or viewer token (or JWT). It stays in this tab only (session storage) and is sent as a
          bearer header, never in a URL or a cookie.
        </p>
        <button type="submit" class="action" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        <p role="status" aria-live="polite">
          {props.notice ?? ''}
        </p>
        {error !== undefined && (
          <p role="alert" class="status-error">
            Sign-in refused ({error})
          </p>
        )}
      </form>
    </main>
  );
}
