/** The page's status: a polite live region for news, an alert for errors (screen readers hear both). */
export function StatusLine(props: { message?: string | undefined; error?: string | undefined }) {
  return (
    <div class="status-line">
      <p role="status" aria-live="polite" class="status-ok">
        {props.message ?? ''}
      </p>
      {props.error !== undefined && (
        <p role="alert" class="status-error">
          {props.error}
        </p>
      )}
    </div>
  );
}
