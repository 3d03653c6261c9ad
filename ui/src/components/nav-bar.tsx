/** The header: the pages, who is signed in with which role, and sign out. */
import type { Session } from '../api/types';

/** The pages of the menu: hash path and label. */
const PAGES: ReadonlyArray<readonly [string, string]> = [
  ['/', 'Overview'],
  ['/tasks', 'Tasks'],
  ['/dlq', 'DLQ'],
  ['/schedules', 'Schedules'],
  ['/subscriptions', 'Subscriptions'],
  ['/workers', 'Workers'],
];

/** Props of {@link NavBar}. */
export interface NavBarProps {
  session: Session;
  /** The current hash path, to mark the current page. */
  path: string;
  onLogout: () => void;
}

/** Whether `path` is within the page at `page` (`/tasks/abc` is within Tasks). */
function within(path: string, page: string): boolean {
  return page === '/' ? path === '/' : path === page || path.startsWith(`${page}/`);
}

/** The header bar. */
export function NavBar({ session, path, onLogout }: NavBarProps) {
  return (
    <header class="top">
      <a class="brand" href="#/">
        codeq
      </a>
      <nav aria-label="Main">
        <ul>
          {PAGES.map(([page, label]) => (
            <li key={page}>
              <a href={`#${page}`} aria-current={within(path, page) ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="who">
        <span>
          {session.subject} <span class={`role role-${session.role}`}>{session.role}</span>
        </span>
        <button type="button" onClick={onLogout}>
          Sign out
        </button>
      </div>
    </header>
  );
}
