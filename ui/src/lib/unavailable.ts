import { makeOperation, type CombinedError, type Exchange, type Operation, type OperationResult } from '@urql/core';
import { filter, make, makeSubject, merge, mergeMap, pipe, share, takeUntil, tap } from 'wonka';

/**
 * Turnpike answers UNAVAILABLE (HTTP 503 with Retry-After) when it cannot reach a database:
 * nothing is known about the caller then, so the portals neither sign the user out nor show
 * the answer as a failure. Queries are retried with backoff until they succeed (the page keeps
 * what it showed, or keeps loading); mutations are handed back to the form that sent them and
 * never repeated behind the user's back. While Turnpike is unavailable a banner says so.
 */

/** Whether an error means Turnpike is unavailable right now (and the same request may succeed later). */
export function isUnavailable(err: CombinedError | null | undefined): boolean {
  if (!err) return false;
  if (err.graphQLErrors?.some((e) => e.extensions?.code === 'UNAVAILABLE')) return true;
  const status = (err.response as Response | undefined)?.status;
  return status === 503;
}

/** The Retry-After of the answer in seconds, when it carried one. */
export function retryAfterSeconds(err: CombinedError | null | undefined): number | undefined {
  const h = (err?.response as Response | undefined)?.headers?.get?.('Retry-After');
  if (!h) return undefined;
  const s = Number(h);
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}

/** The longest wait between two attempts. */
export const MAX_RETRY_DELAY_MS = 30_000;

/**
 * How long to wait before attempt number `attempt` (0 for the first retry): 1 s doubling up
 * to 30 s, never less than the server's Retry-After (itself capped at 30 s), with up to 20 %
 * of jitter (`random` in [0, 1)) so that many open portals do not come back at once.
 */
export function retryDelay(attempt: number, retryAfter?: number, random: () => number = Math.random): number {
  const backoff = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.max(0, attempt));
  const floor = retryAfter === undefined ? 0 : Math.min(MAX_RETRY_DELAY_MS, retryAfter * 1000);
  const base = Math.max(backoff, floor);
  return Math.round(base * (1 + 0.2 * random()));
}

/** Whether Turnpike is reachable, as the last answers told; components subscribe to it. */
export interface Availability {
  unavailable(): boolean;
  subscribe(listener: () => void): () => void;
  /** An answer said UNAVAILABLE. */
  down(): void;
  /** An answer came back without UNAVAILABLE. */
  up(): void;
}

export function createAvailability(): Availability {
  let down = false;
  const listeners = new Set<() => void>();
  const set = (v: boolean) => {
    if (v === down) return;
    down = v;
    for (const l of listeners) l();
  };
  return {
    unavailable: () => down,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    down: () => set(true),
    up: () => set(false),
  };
}

/** The portals' availability (one per page). */
export const availability = createAvailability();

export interface UnavailableOptions {
  availability?: Availability;
  /** Runs fn after ms (tests pass a fake clock). */
  schedule?: (fn: () => void, ms: number) => void;
  random?: () => number;
}

/**
 * The exchange (before fetchExchange) that holds back UNAVAILABLE answers to queries and asks
 * again after retryDelay, for as long as the query is in use (a teardown stops it); it marks
 * `availability` down on such an answer and up on any other. The retries go straight to the
 * exchanges after it, so the client sees one request that took long.
 */
export function unavailableExchange(opts: UnavailableOptions = {}): Exchange {
  const avail = opts.availability ?? availability;
  const schedule = opts.schedule ?? ((fn, ms) => void setTimeout(fn, ms));
  const random = opts.random ?? Math.random;
  return ({ forward }) =>
    (ops$) => {
      const shared$ = share(ops$);
      const { source: retries$, next: retry } = makeSubject<Operation>();
      const delayed$ = pipe(
        retries$,
        mergeMap((op: Operation) =>
          pipe(
            make<Operation>((observer) => {
              let live = true;
              schedule(() => {
                if (!live) return;
                observer.next(op);
                observer.complete();
              }, op.context.unavailableDelay as number);
              return () => {
                live = false;
              };
            }),
            takeUntil(pipe(shared$, filter((o: Operation) => o.kind === 'teardown' && o.key === op.key))),
          ),
        ),
      );
      return pipe(
        forward(merge([shared$, delayed$])),
        tap((res: OperationResult) => {
          if (isUnavailable(res.error)) avail.down();
          else if (res.data !== undefined || !res.error?.networkError) avail.up();
        }),
        filter((res: OperationResult) => {
          const op = res.operation;
          if (op.kind !== 'query' || !isUnavailable(res.error)) return true;
          const attempt = (op.context.unavailableAttempt as number | undefined) ?? 0;
          const delay = retryDelay(attempt, retryAfterSeconds(res.error), random);
          retry(
            makeOperation(op.kind, op, {
              ...op.context,
              requestPolicy: 'network-only',
              unavailableAttempt: attempt + 1,
              unavailableDelay: delay,
            }),
          );
          return false;
        }),
      );
    };
}
