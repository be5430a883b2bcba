import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { Provider, useQuery } from 'urql';
import type { Client, CombinedError } from '@urql/core';
import { createClient } from '../../lib/client';
import { forgetTokens } from '../../lib/tokens';
import { MeQuery } from './queries';
import type { SessionUser } from './roles';

interface SessionValue {
  me: SessionUser | null;
  /** True until the first answer to `me`. */
  loading: boolean;
  error?: CombinedError;
  /** Starts over with a fresh client and cache (after sign-in and sign-out). */
  reset: () => void;
}

const SessionContext = createContext<SessionValue>({ me: null, loading: true, reset: () => {} });

export function useSession(): SessionValue {
  return useContext(SessionContext);
}

function MeLoader({ reset, children }: { reset: () => void; children: ReactNode }) {
  const [{ data, error }] = useQuery({ query: MeQuery, requestPolicy: 'network-only' });
  const value = useMemo<SessionValue>(
    () => ({
      me: data?.me ?? null,
      loading: data === undefined && !error,
      error,
      reset,
    }),
    [data, error, reset],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function SessionProvider({ children, client: given }: { children: ReactNode; client?: Client }) {
  const [client, setClient] = useState<Client>(() => given ?? createClient());
  const reset = useCallback(() => {
    forgetTokens();
    setClient(createClient());
  }, []);
  return (
    <Provider value={client}>
      <MeLoader reset={reset}>{children}</MeLoader>
    </Provider>
  );
}
