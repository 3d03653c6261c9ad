/** The dashboard: sign in, then the page of the URL's hash. */
import { useEffect, useState } from 'preact/hooks';
import { call } from './api/client';
import { clearToken, storedToken, storeToken } from './api/session-store';
import type { Session } from './api/types';
import { NavBar } from './components/nav-bar';
import { ViewerNote } from './components/viewer-note';
import { DlqPage } from './pages/dlq-page';
import { LoginPage } from './pages/login-page';
import { OverviewPage } from './pages/overview-page';
import { SchedulesPage } from './pages/schedules-page';
import { SubscriptionsPage } from './pages/subscriptions-page';
import { TaskDetailPage } from './pages/task-detail-page';
import { TasksPage } from './pages/tasks-page';
import { WorkersPage } from './pages/workers-page';
import type { Route } from './router';
import { useRoute } from './router';
import { SessionContext } from './session-context';

/** The page of a route. */
function Page({ route }: { route: Route }) {
  const detail = /^\/tasks\/([^/]+)$/.exec(route.path);
  if (detail) return <TaskDetailPage key={detail[1]} id={decodeURIComponent(detail[1] as string)} />;
  switch (route.path) {
    case '/tasks':
      return <TasksPage route={route} />;
    case '/dlq':
      return <DlqPage route={route} />;
    case '/schedules':
      return <SchedulesPage />;
    case '/subscriptions':
      return <SubscriptionsPage />;
    case '/workers':
      return <WorkersPage />;
    default:
      return <OverviewPage />;
  }
}

/** The app: the login form until a session exists, then the header and the page. */
export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session>();
  const [checking, setChecking] = useState(storedToken() !== undefined);
  const [notice, setNotice] = useState<string>();

  // A reload keeps the tab's token: check it is still good.
  useEffect(() => {
    if (!checking) return;
    call<Session>('/ui/api/session')
      .then(setSession)
      .catch(() => {
        clearToken();
        setNotice('Your session ended; sign in again.');
      })
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p class="loading">Loading…</p>;
  if (!session)
    return (
      <LoginPage
        notice={notice}
        onLogin={(token, s) => {
          storeToken(token);
          setSession(s);
        }}
      />
    );
  return (
    <SessionContext.Provider value={session}>
      <a
        class="skip"
        href="#content"
        onClick={(e) => (e.preventDefault(), document.getElementById('content')?.focus())}
      >
        Skip to content
      </a>
      <NavBar
        session={session}
        path={route.path}
        onLogout={() => {
          clearToken();
          setSession(undefined);
          setNotice('Signed out.');
        }}
      />
      {!session.canAct && <ViewerNote />}
      <div id="content" tabIndex={-1}>
        <Page route={route} />
      </div>
    </SessionContext.Provider>
  );
}
