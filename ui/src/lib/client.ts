import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createLiveTransport, type LiveTransport } from './live';
import { unavailableExchange, type UnavailableOptions } from './unavailable';

/**
 * The GraphQL client: every query and mutation is a POST to /graphql with a JSON body and
 * the session cookie (the server's CSRF defence relies on application/json); subscriptions
 * go over a WebSocket to the same endpoint (lib/live.ts), loaded on first use. Queries that
 * meet an unavailable Turnpike are retried with backoff (lib/unavailable.ts).
 */
export function createClient(
  url = '/graphql',
  live: LiveTransport = createLiveTransport(),
  unavailable: UnavailableOptions = {},
): Client {
  return new Client({
    url,
    exchanges: [
      cacheExchange,
      unavailableExchange(unavailable),
      subscriptionExchange({ forwardSubscription: live.forwardSubscription }),
      fetchExchange,
    ],
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({
      credentials: 'include',
      headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
    }),
  });
}
