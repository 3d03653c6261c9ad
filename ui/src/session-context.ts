/** Who is signed in, for every page: the session answer of `GET /ui/api/session`. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from './api/types';

/** The signed-in session (pages render only once there is one). */
export const SessionContext = createContext<Session | undefined>(undefined);

/** Whether the signed-in caller may act (false for a viewer). */
export function useCanAct(): boolean {
  return useContext(SessionContext)?.canAct ?? false;
}

/** The id of the note that explains why actions are disabled (buttons point at it). */
export const VIEWER_NOTE_ID = 'viewer-note';
