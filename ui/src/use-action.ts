/** Runs one action at a time and reports it in the page's live status line. */
import { useState } from 'preact/hooks';
import { describeError } from './api/client';

/** The state of a page's actions and the way to run one. */
export interface Actions {
  busy: boolean;
  message: string | undefined;
  error: string | undefined;
  /** Runs `work`; its answer (a sentence) becomes the status, a failure the error. */
  run: (work: () => Promise<string>) => Promise<void>;
  /** Shows a message (or an error) without running anything. */
  say: (message: string | undefined, error?: string) => void;
}

/** Actions of one page. */
export function useAction(): Actions {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const say = (m: string | undefined, e?: string) => {
    setMessage(m);
    setError(e);
  };
  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    say(undefined);
    try {
      say(await work());
    } catch (e) {
      say(undefined, describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, message, error, run, say };
}
