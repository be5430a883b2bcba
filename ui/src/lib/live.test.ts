import { afterEach, describe, expect, it, vi } from 'vitest';
import { pipe, subscribe } from 'wonka';
import type { OperationResult } from '@urql/core';
import { createClient } from './client';
import { createLiveTransport, liveUrl, type LiveStatus } from './live';
import { ApiUsageLiveSubscription } from '../features/apis/queries';

/**
 * A WebSocket double that speaks the server side of graphql-transport-ws: it acknowledges
 * connection_init, and the test answers subscribe messages with `serverSend`.
 */
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static sockets: FakeSocket[] = [];
  /** When set, the upgrade fails (as a refused or cross-origin handshake does). */
  static refuse = false;

  readyState = FakeSocket.CONNECTING;
  sent: Array<{ type: string; id?: string; payload?: { query: string; variables: Record<string, unknown> } }> = [];
  onopen: (() => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;

  constructor(
    public url: string,
    public protocol: string,
  ) {
    FakeSocket.sockets.push(this);
    setTimeout(() => {
      if (FakeSocket.refuse) {
        this.readyState = FakeSocket.CLOSED;
        this.onerror?.(new Event('error'));
        this.onclose?.({ code: 1006, reason: '' });
        return;
      }
      this.readyState = FakeSocket.OPEN;
      this.onopen?.();
    }, 0);
  }

  send(data: string) {
    const msg = JSON.parse(data);
    this.sent.push(msg);
    if (msg.type === 'connection_init') this.serverSend({ type: 'connection_ack' });
  }

  serverSend(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  close(code = 1000, reason = '') {
    if (this.readyState === FakeSocket.CLOSED) return;
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
}

const point = (at: string, requests: number) => ({
  at,
  requests,
  errors4xx: 0,
  errors5xx: 0,
  throttled: 0,
  latencyAvgMs: 12,
  latencyMaxMs: 30,
  backendLatencyAvgMs: 10,
});

async function until<T>(fn: () => T | undefined | null | false, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterEach(() => {
  FakeSocket.sockets = [];
  FakeSocket.refuse = false;
});

describe('liveUrl', () => {
  it('is ws:// beside http:// and wss:// beside https://, on the page host', () => {
    expect(liveUrl('/graphql', { protocol: 'http:', host: 'localhost:9443' })).toBe('ws://localhost:9443/graphql');
    expect(liveUrl('/graphql', { protocol: 'https:', host: 'api.example.com' })).toBe('wss://api.example.com/graphql');
    expect(liveUrl()).toBe(`ws://${window.location.host}/graphql`);
  });
});

describe('live transport through urql', () => {
  function setup() {
    const load = vi.fn(() => import('graphql-ws/client'));
    const transport = createLiveTransport({ url: 'ws://turnpike.test/graphql', load, webSocketImpl: FakeSocket, retryAttempts: 0 });
    const client = createClient('/graphql', transport);
    const statuses: LiveStatus[] = [];
    const results: OperationResult[] = [];
    const start = () =>
      pipe(
        client.subscription(ApiUsageLiveSubscription, { apiId: 'api-1' }, { onLiveStatus: (s: LiveStatus) => statuses.push(s) }),
        subscribe((r) => results.push(r)),
      );
    return { load, transport, statuses, results, start };
  }

  it('loads graphql-ws only when a subscription starts, then streams the points', async () => {
    const { load, transport, statuses, results, start } = setup();
    expect(load).not.toHaveBeenCalled();
    const sub = start();
    const socket = await until(() => FakeSocket.sockets[0]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(socket.url).toBe('ws://turnpike.test/graphql');
    expect(socket.protocol).toBe('graphql-transport-ws');

    const msg = await until(() => socket.sent.find((m) => m.type === 'subscribe'));
    expect(msg.payload?.query).toContain('apiUsageLive(apiId: $apiId)');
    expect(msg.payload?.variables).toEqual({ apiId: 'api-1' });
    expect(statuses).toEqual(['connecting', 'live']);

    socket.serverSend({ id: msg.id, type: 'next', payload: { data: { apiUsageLive: point('2024-05-01T10:01:00Z', 9) } } });
    socket.serverSend({ id: msg.id, type: 'next', payload: { data: { apiUsageLive: point('2024-05-01T10:02:00Z', 2) } } });
    await until(() => results.length === 2);
    expect(results.map((r) => (r.data as { apiUsageLive: { requests: number } }).apiUsageLive.requests)).toEqual([9, 2]);
    expect(results[1].error).toBeUndefined();

    sub.unsubscribe();
    await until(() => socket.sent.some((m) => m.type === 'complete' && m.id === msg.id));
    transport.dispose();
    await until(() => socket.readyState === FakeSocket.CLOSED);
  });

  it('passes the server’s GraphQL errors on as the result error and reports failed', async () => {
    const { statuses, results, start } = setup();
    start();
    const socket = await until(() => FakeSocket.sockets[0]);
    const msg = await until(() => socket.sent.find((m) => m.type === 'subscribe'));
    socket.serverSend({ id: msg.id, type: 'error', payload: [{ message: 'you may not see this API', extensions: { code: 'FORBIDDEN' } }] });
    const r = await until(() => results[0]);
    expect(r.error?.graphQLErrors[0]?.message).toBe('you may not see this API');
    expect(statuses.at(-1)).toBe('failed');
  });

  it('fails the subscription with a readable message when the socket cannot open', async () => {
    FakeSocket.refuse = true;
    const { statuses, results, start } = setup();
    start();
    const r = await until(() => results[0]);
    // A browser fires error before close (1006): graphql-ws hands on the error event.
    expect(r.error?.networkError?.message).toBe('the live connection could not be opened');
    expect(statuses).toEqual(['connecting', 'failed']);
  });

  it('reports a failed chunk load, and loads again for the next subscription', async () => {
    const load = vi.fn().mockRejectedValueOnce(new Error('chunk failed')).mockImplementation(() => import('graphql-ws/client'));
    const transport = createLiveTransport({ url: 'ws://turnpike.test/graphql', load, webSocketImpl: FakeSocket, retryAttempts: 0 });
    const client = createClient('/graphql', transport);
    const results: OperationResult[] = [];
    pipe(client.subscription(ApiUsageLiveSubscription, { apiId: 'api-1' }), subscribe((r) => results.push(r)));
    const r = await until(() => results[0]);
    expect(r.error?.networkError?.message).toBe('live updates could not be loaded');

    const statuses: LiveStatus[] = [];
    pipe(
      client.subscription(ApiUsageLiveSubscription, { apiId: 'api-2' }, { onLiveStatus: (s: LiveStatus) => statuses.push(s) }),
      subscribe(() => {}),
    );
    await until(() => statuses.includes('live'));
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('names the close code when the server drops the socket', async () => {
    const { statuses, results, start } = setup();
    start();
    const socket = await until(() => FakeSocket.sockets[0]);
    await until(() => socket.sent.find((m) => m.type === 'subscribe'));
    socket.close(4403, 'Forbidden');
    const r = await until(() => results[0]);
    expect(r.error?.networkError?.message).toBe('the live connection closed (code 4403: Forbidden)');
    expect(statuses).toEqual(['connecting', 'live', 'connecting', 'failed']);
  });

  it('reports the server completing the subscription as closed', async () => {
    const { statuses, start } = setup();
    start();
    const socket = await until(() => FakeSocket.sockets[0]);
    const msg = await until(() => socket.sent.find((m) => m.type === 'subscribe'));
    socket.serverSend({ id: msg.id, type: 'complete' });
    await until(() => statuses.includes('closed'));
    expect(statuses).toEqual(['connecting', 'live', 'closed']);
  });
});
