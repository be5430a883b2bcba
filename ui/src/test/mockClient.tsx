// A urql client double for component tests: answers each operation by its name.
// An answer { __error: message, __extensions?: {...} } is a GraphQL error.
import type { ReactNode } from 'react';
import { Provider } from 'urql';
import { fromValue, never, toPromise } from 'wonka';
import type { Client } from '@urql/core';
import { vi } from 'vitest';
import { MemoryRouter } from 'react-router';

type Answer = Record<string, unknown> | ((variables: Record<string, unknown>) => Record<string, unknown>);

function opName(op: { query: { definitions: readonly unknown[] } }): string {
  for (const d of op.query.definitions as Array<{ kind: string; name?: { value: string } }>) {
    if (d.kind === 'OperationDefinition' && d.name) return d.name.value;
  }
  return '';
}

export function mockClient(answers: Record<string, Answer>) {
  const calls: Array<{ name: string; variables: Record<string, unknown> }> = [];
  const respond = (op: { query: { definitions: readonly unknown[] }; variables: Record<string, unknown> }) => {
    const name = opName(op);
    calls.push({ name, variables: op.variables });
    const a = answers[name];
    if (a === undefined) return never;
    const data = typeof a === 'function' ? a(op.variables) : a;
    if ('__error' in data) {
      return fromValue({
        operation: op,
        data: undefined,
        error: {
          message: String(data.__error),
          graphQLErrors: [{ message: String(data.__error), extensions: (data.__extensions as Record<string, unknown>) ?? {} }],
        },
        stale: false,
        hasNext: false,
      });
    }
    return fromValue({ operation: op, data, stale: false, hasNext: false });
  };
  const client = {
    executeQuery: vi.fn(respond),
    executeMutation: vi.fn(respond),
    executeSubscription: vi.fn(() => never),
    // client.query(...).toPromise(), as pages that fetch on demand call it
    query: vi.fn((query: { definitions: readonly unknown[] }, variables: Record<string, unknown>) => ({
      toPromise: () => toPromise(respond({ query, variables })),
    })),
    // useQuery reads these
    suspense: false,
  } as unknown as Client;
  return { client, calls };
}

export function withClient(client: Client, children: ReactNode, path = '/') {
  return (
    <MemoryRouter initialEntries={[path]}>
      <Provider value={client}>{children}</Provider>
    </MemoryRouter>
  );
}
