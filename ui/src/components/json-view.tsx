/** A JSON value, collapsible (a native details element: keyboard and screen readers know it). */
export function JsonView(props: { label: string; value: unknown; open?: boolean }) {
  const text = props.value === undefined ? 'none' : JSON.stringify(props.value, null, 2);
  return (
    <details class="json" open={props.open}>
      <summary>{props.label}</summary>
      <pre tabIndex={0}>{text}</pre>
    </details>
  );
}
