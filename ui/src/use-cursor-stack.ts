/**
 * Previous/next over a cursor-paged list whose cursor lives in the URL. The server's cursors only
 * go forward, so the cursors passed are kept here to go back (a reload starts that stack afresh).
 */
import { useState } from 'preact/hooks';

/** The stack of the cursors of earlier pages and the moves. */
export function useCursorStack(current: string | undefined, go: (cursor: string | undefined) => void) {
  const [stack, setStack] = useState<Array<string | undefined>>([]);
  return {
    hasPrevious: stack.length > 0 || current !== undefined,
    next(cursor: string) {
      setStack((s) => [...s, current]);
      go(cursor);
    },
    previous() {
      const back = stack[stack.length - 1];
      setStack((s) => s.slice(0, -1));
      go(back);
    },
    reset() {
      setStack([]);
    },
  };
}
