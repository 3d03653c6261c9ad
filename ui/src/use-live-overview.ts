/**
 * The overview, kept live: one GET, then the server's event stream (`/v1/codeq/admin/stream`), whose
 * `overview` events replace the figures every few seconds and whose `task` events feed the recent
 * activity list. Pausing aborts the stream (the server then drops its consumer); a broken stream is
 * retried after a few seconds.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { call, describeError } from './api/client';
import { readStream } from './api/event-stream';
import type { LiveTaskEvent, Overview } from './api/types';

/** How long to wait before reopening a stream that broke, ms. */
const RETRY_MS = 5000;
/** How many recent task events the page shows. */
const RECENT_MAX = 12;

/** The live overview's state and controls. */
export interface LiveOverview {
  overview: Overview | undefined;
  recent: LiveTaskEvent[];
  live: boolean;
  setLive: (live: boolean) => void;
  error: string | undefined;
  /** Fetches the figures now (after an action). */
  refresh: () => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** The overview of every queue, live while `live` is on. */
export function useLiveOverview(): LiveOverview {
  const [overview, setOverview] = useState<Overview>();
  const [recent, setRecent] = useState<LiveTaskEvent[]>([]);
  const [live, setLive] = useState(true);
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    call<Overview>('/v1/codeq/admin/overview', { signal: abort.signal })
      .then((o) => (setOverview(o), setError(undefined)))
      .catch((e: unknown) => abort.signal.aborted || setError(describeError(e)));
    return () => abort.abort();
  }, [round]);

  useEffect(() => {
    if (!live) return;
    const abort = new AbortController();
    const { signal } = abort;
    const onEvent = ({ event, data }: { event: string; data: string }) => {
      if (event === 'overview') setOverview(JSON.parse(data) as Overview);
      else if (event === 'task')
        setRecent((r) => [JSON.parse(data) as LiveTaskEvent, ...r].slice(0, RECENT_MAX));
    };
    void (async () => {
      while (!signal.aborted) {
        try {
          await readStream('/v1/codeq/admin/stream', onEvent, signal);
        } catch (e) {
          setError(`Live updates interrupted (${describeError(e)}); retrying`);
        }
        await sleep(RETRY_MS, signal);
      }
    })();
    return () => abort.abort();
  }, [live]);

  const refresh = useCallback(() => setRound((r) => r + 1), []);
  return { overview, recent, live, setLive, error, refresh };
}
