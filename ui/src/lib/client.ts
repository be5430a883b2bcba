import { Client, cacheExchange, fetchExchange } from '@urql/core';

/**
 * The GraphQL client: every operation is a POST to /graphql with a JSON body and the
 * session cookie (the server's CSRF defence relies on application/json).
 */
export function createClient(url = '/graphql'): Client {
  return new Client({
    url,
    exchanges: [cacheExchange, fetchExchange],
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({
      credentials: 'include',
      headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
    }),
  });
}
