import { afterEach, describe, expect, it, vi } from 'vitest';
import { pipe, subscribe } from 'wonka';
import type { OperationResult } from '@urql/core';
import { createClient } from './client';
import { createLiveTransport } from './live';
import { createAvailability, isUnavailable, retryDelay } from './unavailable';
import { LogoutMutation, MeQuery } from '../features/auth/queries';

const unavailableBody = JSON.stringify({
  errors: [{ message: 'Turnpike is unavailable right now', extensions: { code: 'UNAVAILABLE' } }],
  data: null,
});

function answer(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const me = { data: { me: { __typename: 'User', id: 'u1', username: 'pat', email: null, roles: ['PUBLISHER'] } } };

/** A client whose fetch gives the answers in turn, with a clock that records the waits. */
function setup(answers: Array<() => Response>) {
  const fetch = vi.fn(async () => {
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  });
  vi.stubGlobal('fetch', fetch);
  const availability = createAvailability();
  const states: boolean[] = [];
  availability.subscribe(() => states.push(availability.unavailable()));
  const delays: number[] = [];
  const client = createClient('/graphql', createLiveTransport(), {
    availability,
    random: () => 0,
    schedule: (fn, ms) => {
      delays.push(ms);
      setTimeout(fn, 0);
    },
  });
  return { client, fetch, availability, states, delays };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('retryDelay', () => {
  it('doubles from 1 s up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => retryDelay(a, undefined, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
  it('waits at least the Retry-After, itself capped', () => {
    expect(retryDelay(0, 5, () => 0)).toBe(5000);
    expect(retryDelay(4, 5, () => 0)).toBe(16000);
    expect(retryDelay(0, 3600, () => 0)).toBe(30000);
  });
  it('adds at most 20 % of jitter', () => {
    expect(retryDelay(1, undefined, () => 0.999)).toBeLessThanOrEqual(2400);
    expect(retryDelay(1, undefined, () => 0.5)).toBe(2200);
  });
});

describe('isUnavailable', () => {
  it('knows the code and the status, and nothing else', () => {
    expect(isUnavailable(undefined)).toBe(false);
    const gql = { graphQLErrors: [{ extensions: { code: 'UNAVAILABLE' } }] };
    expect(isUnavailable(gql as never)).toBe(true);
    const auth = { graphQLErrors: [{ extensions: { code: 'UNAUTHENTICATED' } }] };
    expect(isUnavailable(auth as never)).toBe(false);
    expect(isUnavailable({ graphQLErrors: [], response: { status: 503 } } as never)).toBe(true);
    expect(isUnavailable({ graphQLErrors: [], response: { status: 500 } } as never)).toBe(false);
  });
});

describe('unavailableExchange', () => {
  it('retries a query with backoff until Turnpike answers, without showing the failures', async () => {
    const { client, fetch, states, delays } = setup([
      () => answer(503, unavailableBody, { 'Retry-After': '5' }),
      () => answer(503, unavailableBody, { 'Retry-After': '5' }),
      () => answer(503, '<html>bad gateway</html>', { 'Content-Type': 'text/html' }),
      () => answer(200, JSON.stringify(me)),
    ]);
    const results: OperationResult[] = [];
    const done = new Promise<void>((resolve) => {
      pipe(
        client.query(MeQuery, {}, { requestPolicy: 'network-only' }),
        subscribe((r) => {
          results.push(r);
          if (r.data) resolve();
        }),
      );
    });
    await done;
    expect(fetch).toHaveBeenCalledTimes(4);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results.at(-1)?.data?.me?.username).toBe('pat');
    expect(delays).toEqual([5000, 5000, 4000]);
    expect(states).toEqual([true, false]);
  });

  it('hands a mutation its UNAVAILABLE answer once and never repeats it', async () => {
    const { client, fetch, availability } = setup([() => answer(503, unavailableBody, { 'Retry-After': '5' })]);
    const r = await client.mutation(LogoutMutation, {}).toPromise();
    expect(isUnavailable(r.error)).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(availability.unavailable()).toBe(true);
  });

  it('lets other errors through at once', async () => {
    const unauth = JSON.stringify({ errors: [{ message: 'sign in first', extensions: { code: 'UNAUTHENTICATED' } }], data: null });
    const { client, fetch, availability } = setup([() => answer(200, unauth)]);
    const r = await client.query(MeQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    expect(r.error?.graphQLErrors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(availability.unavailable()).toBe(false);
  });
});
