/** Why action buttons are disabled, for a viewer (buttons reference it with aria-describedby). */
import { VIEWER_NOTE_ID } from '../session-context';

/** The read-only note. */
export function ViewerNote() {
  return (
    <p id={VIEWER_NOTE_ID} class="viewer-note">
      You are signed in with the read-only <strong>viewer</strong> role: you can see everything, and the
      actions (retry, delete, cancel, pause, run now) are disabled. The server refuses them for this role.
    </p>
  );
}
