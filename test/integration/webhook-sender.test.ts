/**
 * The webhook sender against a real loopback receiver: a URL that carries credentials (a task
 * webhook read back from the log is outside input too) is refused before any connection, so no
 * `Authorization` header ever leaves the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSender } from '../../src/webhooks/http-sender.js';
import { parseAllowList } from '../../src/webhooks/url-safety.js';
import { startReceiver, type Receiver } from '../support/webhooks.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

describe('webhook sender', () => {
  it('never sends credentials: a URL with user or password is refused without connecting', async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const sender = new HttpSender({
      policy: { allow: parseAllowList(['127.0.0.0/8']), allowLoopback: true },
      timeoutMs: 5000,
    });
    const withCredentials = receiver.url.replace('http://', 'http://user:secret@');
    expect(await sender.send({ url: `${withCredentials}/hook`, body: '{}' })).toMatchObject({
      ok: false,
      refused: true,
      error: 'refused: credentials in the URL',
    });
    expect(await sender.send({ url: `${receiver.url}/hook`, body: '{}' })).toMatchObject({ ok: true });
    expect(receiver.received.map((r) => [r.path, r.headers.authorization])).toEqual([['/hook', undefined]]);
  });
});
