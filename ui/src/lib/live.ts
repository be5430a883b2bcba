// GraphQL subscriptions (the schema's `Live` root) over WebSocket: graphql-transport-ws
// at ws(s)://<this host>/graphql, authenticated by the session cookie like every request.
//
// The graphql-ws client is loaded only when the first subscription starts (a page that
// never subscribes never downloads it), then shared by every subscription of the urql
// client. It connects lazily and closes a little after the last subscription ends.
import type { ExecutionResult, SubscriptionForwarder } from '@urql/core';
import type { Client as WsClient, ClientOptions } from 'graphql-ws/client';

/**
 * What a subscription's transport is doing: connecting (or reconnecting after a drop),
 * live (socket open, subscription sent), closed (the server ended it) or failed (the socket
 * could not be opened after the retries, or the server refused the subscription).
 */
export type LiveStatus = 'connecting' | 'live' | 'closed' | 'failed';

/** Operation context a caller may pass to hear about its subscription's transport. */
export interface LiveContext {
  onLiveStatus?: (status: LiveStatus) => void;
}

/** The WebSocket URL of the GraphQL endpoint on this page's origin. */
export function liveUrl(path = '/graphql', loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${path}`;
}

export interface LiveTransportOptions {
  /** Absolute ws(s) URL, or a function giving it at first use; defaults to liveUrl(). */
  url?: string | (() => string);
  /** Loads graphql-ws (a separate chunk); tests pass a double. */
  load?: () => Promise<{ createClient: (options: ClientOptions) => WsClient }>;
  /** Reconnection attempts before a subscription fails (graphql-ws backs off exponentially). */
  retryAttempts?: number;
  /** For tests: a WebSocket implementation instead of the browser's. */
  webSocketImpl?: unknown;
}

export interface LiveTransport {
  /** For urql's subscriptionExchange. */
  forwardSubscription: SubscriptionForwarder;
  /** Closes the socket, if any (the client is being replaced). */
  dispose: () => void;
}

/** The message of whatever graphql-ws hands to a sink's error: a CloseEvent, an Event or an Error. */
function socketError(err: unknown): Error {
  if (err instanceof Error) return err;
  const close = err as { code?: unknown; reason?: unknown } | null;
  if (close && typeof close.code === 'number') {
    const reason = typeof close.reason === 'string' && close.reason ? `: ${close.reason}` : '';
    return new Error(`the live connection closed (code ${close.code}${reason})`);
  }
  return new Error('the live connection could not be opened');
}

export function createLiveTransport(opts: LiveTransportOptions = {}): LiveTransport {
  const load = opts.load ?? (() => import('graphql-ws/client'));
  let ws: Promise<WsClient> | undefined;
  let connected = false;
  const watchers = new Set<(connected: boolean) => void>();
  const setConnected = (value: boolean) => {
    connected = value;
    for (const w of [...watchers]) w(value);
  };

  const client = (): Promise<WsClient> =>
    (ws ??= load().then(
      ({ createClient }) =>
        createClient({
          url: typeof opts.url === 'function' ? opts.url() : (opts.url ?? liveUrl()),
          lazy: true,
          // Switching ranges re-subscribes at once: keep the socket for that.
          lazyCloseTimeout: 3000,
          retryAttempts: opts.retryAttempts ?? 2,
          webSocketImpl: opts.webSocketImpl,
          on: {
            connected: () => setConnected(true),
            closed: () => setConnected(false),
          },
        }),
      (err: unknown) => {
        ws = undefined; // a failed chunk load is tried again by the next subscription
        throw err;
      },
    ));

  const forwardSubscription: SubscriptionForwarder = (request, operation) => {
    const report = (operation.context as LiveContext).onLiveStatus;
    return {
      subscribe(sink) {
        let done = false;
        let dispose: (() => void) | undefined;
        let last: LiveStatus | undefined;
        const status = (s: LiveStatus) => {
          if (done || s === last) return;
          last = s;
          report?.(s);
        };
        const watch = (isConnected: boolean) => status(isConnected ? 'live' : 'connecting');
        const finish = (s: LiveStatus) => {
          status(s);
          done = true;
          watchers.delete(watch);
        };
        watchers.add(watch);
        status(connected ? 'live' : 'connecting');
        client().then(
          (c) => {
            if (done) return;
            dispose = c.subscribe(
              { ...request, query: request.query ?? '' },
              {
                next: (result) => sink.next(result as ExecutionResult),
                error: (err) => {
                  finish('failed');
                  // An array is the server's GraphQL errors (urql shows their messages).
                  if (Array.isArray(err)) sink.error(err);
                  else sink.error(socketError(err));
                },
                complete: () => {
                  finish('closed');
                  sink.complete();
                },
              },
            );
          },
          () => {
            if (done) return;
            finish('failed');
            sink.error(new Error('live updates could not be loaded'));
          },
        );
        return {
          unsubscribe() {
            done = true;
            watchers.delete(watch);
            dispose?.();
          },
        };
      },
    };
  };

  return {
    forwardSubscription,
    dispose() {
      const current = ws;
      ws = undefined;
      current?.then((c) => c.dispose()).catch(() => {});
    },
  };
}
