/**
 * A button that changes something. For a viewer it is disabled and points at the note saying why
 * (the server refuses a viewer's writes anyway; the UI only saves the round trip).
 */
import type { ComponentChildren } from 'preact';
import { useCanAct, VIEWER_NOTE_ID } from '../session-context';

/** Props of {@link ActionButton}. */
export interface ActionButtonProps {
  onClick: () => void;
  children: ComponentChildren;
  /** Red: the action loses something (delete, cancel). */
  danger?: boolean;
  /** Neutral: a routine toggle (pause/resume) rather than the page's main action. */
  plain?: boolean;
  disabled?: boolean;
  /** Accessible name when the visible text is short (`Retry` → `Retry task 1a2b…`). */
  label?: string;
}

/** An action button, disabled for callers who cannot act. */
export function ActionButton(props: ActionButtonProps) {
  const canAct = useCanAct();
  return (
    <button
      type="button"
      class={props.danger ? 'danger' : props.plain ? undefined : 'action'}
      onClick={props.onClick}
      disabled={!canAct || props.disabled}
      aria-label={props.label}
      aria-describedby={canAct ? undefined : VIEWER_NOTE_ID}
      title={canAct ? undefined : 'Read-only: the viewer role cannot act'}
    >
      {props.children}
    </button>
  );
}
