/**
 * The HTTP client's default sender (`node:http` with a keep-alive agent) against real sockets:
 * answers, connection reuse, a server that closes idle connections first, refused connections,
 * timeouts, aborts and answers cut short, and how the client maps each.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeqHttpClient } from '../../src/client/http-client.js';
import { nodeHttpSender } from '../../src/client/http-send.js';
import { rejection } from '../support/assertions.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A local server; counts the connections it accepted. */
async function serve(
  handler: http.RequestListener,
  keepAliveTimeoutMs = 5000,
): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  let connections = 0;
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
  };
}

const echo: http.RequestListener = (req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    if (req.url === '/empty') return res.writeHead(204).end();
    res.setHeader('x-request-id', 'req-1');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization }));
  });
};

describe('nodeHttpSender', () => {
  it('sends method, headers and body, reads status, headers and the whole body, and reuses its connection', async () => {
    const { url, connections } = await serve(echo);
    const { send } = nodeHttpSender();
    const big = 'x'.repeat(300_000); // many chunks on the way back
    for (let i = 0; i < 3; i++) {
      const answer = await send(`${url}/a?b=${i}`, {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        body: JSON.stringify({ big, i }),
      });
      expect(answer.status).toBe(200);
      expect(answer.header('x-request-id')).toBe('req-1');
      expect(answer.header('x-missing')).toBeUndefined();
      expect(JSON.parse(answer.text)).toEqual({
        method: 'POST',
        url: `/a?b=${i}`,
        body: JSON.stringify({ big, i }),
        auth: 'Bearer t',
      });
    }
    expect(await send(`${url}/empty`, { method: 'GET', headers: {} })).toMatchObject({
      status: 204,
      text: '',
    });
    expect(connections()).toBe(1);
  });

  it('close() ends idle connections only; the sender still works after it', async () => {
    let release: () => void = () => undefined;
    let closed = 0;
    const { url, connections } = await serve((req, res) => {
      req.socket.once('close', () => closed++);
      if (req.url === '/slow') release = () => res.end('slow');
      else res.end('fast');
    });
    const sender = nodeHttpSender();
    expect((await sender.send(`${url}/a`, { method: 'GET', headers: {} })).text).toBe('fast');
    // One connection busy with /slow, a second one idle after /b.
    const slow = sender.send(`${url}/slow`, { method: 'GET', headers: {} });
    expect((await sender.send(`${url}/b`, { method: 'GET', headers: {} })).text).toBe('fast');
    expect(connections()).toBe(2);
    sender.close();
    await expect.poll(() => closed).toBe(1);
    release();
    expect((await slow).text).toBe('slow');
    expect((await sender.send(`${url}/c`, { method: 'GET', headers: {} })).text).toBe('fast');
    expect(connections()).toBe(2);
  });

  it('sends once more when a kept-alive connection is dropped under its request', async () => {
    // A server (or a proxy) that drops an idle connection as a request arrives on it, without a
    // keep-alive hint: the client learns it only when it reuses the socket, before any answer.
    const server = http.createServer((req, res) => {
      const socket = req.socket as Socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      if (socket.served > 1) socket.destroy();
      else res.end(`ok ${req.method}`);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { send } = nodeHttpSender();
    for (let i = 0; i < 3; i++) {
      expect((await send(url, { method: 'POST', headers: {}, body: '{}' })).text).toBe('ok POST');
    }
  });

  it('survives a server that closes idle connections before the agent does', async () => {
    const { url, connections } = await serve(echo, 100);
    const { send } = nodeHttpSender();
    expect((await send(`${url}/1`, { method: 'GET', headers: {} })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await send(`${url}/2`, { method: 'GET', headers: {} })).status).toBe(200);
    expect(connections()).toBe(2);
  });

  it('rejects an answer cut short', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => (res.socket as Socket).destroy(), 20);
    });
    await expect(nodeHttpSender().send(url, { method: 'GET', headers: {} })).rejects.toThrow();
  });
});

describe('CodeqHttpClient on the default sender', () => {
  it('maps a refused connection to UNAVAILABLE naming the socket error', async () => {
    const { url } = await serve(echo);
    const closing = servers.pop()!;
    await new Promise((r) => closing.close(r));
    const err = await rejection(new CodeqHttpClient({ baseUrl: url }).healthz());
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('maps a timeout to UNAVAILABLE and a caller abort to ABORTED (or no tasks, for a claim)', async () => {
    const { url } = await serve(() => {
      // never answers
    });
    const client = new CodeqHttpClient({ baseUrl: url, timeoutMs: 200 });
    const timedOut = await rejection(client.healthz());
    expect(timedOut.code).toBe('UNAVAILABLE');
    expect(timedOut.message).toMatch(/timeout/i);

    const patient = new CodeqHttpClient({ baseUrl: url, timeoutMs: 60_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect(await patient.claim({ commands: ['c'], signal: ac.signal })).toEqual([]);
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 100);
    const aborted = await rejection(patient.events({ fromSeq: 1, signal: ac2.signal }));
    expect(aborted.code).toBe('ABORTED');
  });

  it('maps an error status with its message and request id', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json', 'x-request-id': 'r-9' });
      res.end(JSON.stringify({ error: 'task not found' }));
    });
    const err = await rejection(new CodeqHttpClient({ baseUrl: url }).getTask('nope'));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe('task not found');
    expect(err.details).toMatchObject({ status: 404, requestId: 'r-9' });
  });
});
