/**
 * Reads a server-sent event stream with fetch() and a ReadableStream rather than EventSource, so
 * the Authorization header goes with it (EventSource cannot send headers).
 */
import { apiRoot, authHeaders } from './client';

/** One parsed event: its name (`message` when unnamed) and its data lines joined. */
export interface StreamEvent {
  event: string;
  data: string;
}

/** Splits complete events off `buffer`; answers them and the incomplete rest. */
export function parseEvents(buffer: string): { events: StreamEvent[]; rest: string } {
  const events: StreamEvent[] = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue; // comments are keep-alive pings
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

/**
 * Streams `path` until `signal` aborts or the server ends it, calling `onEvent` for each event.
 * Resolves when the stream ends; rejects on an HTTP error or a broken connection (not on abort).
 */
export async function readStream(
  path: string,
  onEvent: (event: StreamEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(`${apiRoot()}${path}`, {
    headers: { accept: 'text/event-stream', ...authHeaders() },
    cache: 'no-store',
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`live stream refused: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const parsed = parseEvents(buffer + value);
      buffer = parsed.rest;
      parsed.events.forEach(onEvent);
    }
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  } finally {
    reader.releaseLock();
  }
}
