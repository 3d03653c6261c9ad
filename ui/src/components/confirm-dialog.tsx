/**
 * A modal confirmation (the native dialog element: focus is trapped and Escape cancels). Shown with
 * the count a dry run found, so the operator knows how many tasks the action will touch.
 */
import { useEffect, useRef } from 'preact/hooks';

/** What to confirm; undefined hides the dialog. */
export interface Confirmation {
  title: string;
  text: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
}

/** The dialog; `onClose` runs on cancel and after confirming. */
export function ConfirmDialog(props: { confirm: Confirmation | undefined; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { confirm, onClose } = props;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (confirm && !dialog.open) dialog.showModal();
    if (!confirm && dialog.open) dialog.close();
  }, [confirm]);
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onClose={onClose}>
      {confirm && (
        <form method="dialog">
          <h2 id="confirm-title">{confirm.title}</h2>
          <p>{confirm.text}</p>
          <div class="buttons">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button
              type="button"
              class={confirm.danger ? 'danger' : 'action'}
              onClick={() => {
                confirm.onConfirm();
                onClose();
              }}
            >
              {confirm.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
