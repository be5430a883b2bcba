import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createLiveTransport, type LiveTransport } from './live';

/**
 * The GraphQL client: every query and mutation is a POST to /graphql with a JSON body and
 * the session cookie (the server's CSRF defence relies on application/json); subscriptions
 * go over a WebSocket to the same endpoint (lib/live.ts), loaded on first use.
 */
export function createClient(url = '/graphql', live: LiveTransport = createLiveTransport()): Client {
  return new Client({
    url,
    exchanges: [cacheExchange, subscriptionExchange({ forwardSubscription: live.forwardSubscription }), fetchExchange],
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({
      credentials: 'include',
      headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
    }),
  });
}
