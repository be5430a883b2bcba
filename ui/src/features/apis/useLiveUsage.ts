import { useMemo, useState } from 'react';
import { useSubscription } from 'urql';
import type { CombinedError } from '@urql/core';
import type { ApiUsageLiveSubscription as LiveData } from '../../gql/graphql';
import type { LiveContext, LiveStatus } from '../../lib/live';
import { mergeUsagePoint } from '../../lib/usage';
import { ApiUsageLiveSubscription } from './queries';

export type LivePoint = LiveData['apiUsageLive'];

export interface LiveUsage {
  /** 'off' while paused (a range that is not per minute). */
  status: LiveStatus | 'off';
  /** Why live updates stopped, when the server or the socket said so. */
  error?: CombinedError;
  /** The points received since the subscription started, in time order, one per minute. */
  points: LivePoint[];
}

interface Received {
  token: unknown;
  points: LivePoint[];
}

/**
 * Subscribes to apiUsageLive while `enabled`. Each `epoch` (the usage range object: picking
 * or refreshing a range fetches the series anew) starts a fresh subscription, so the points
 * and the status always belong to the series on screen.
 */
export function useLiveUsage(apiId: string, enabled: boolean, epoch: unknown): LiveUsage {
  const [reported, setReported] = useState<{ token: unknown; status: LiveStatus }>();
  // A new context object re-executes the subscription; its callback identifies it.
  const context = useMemo(() => {
    const onLiveStatus = (status: LiveStatus) => setReported({ token: onLiveStatus, status });
    return { onLiveStatus } satisfies LiveContext;
    // `epoch` is a dependency on purpose: a new range restarts the subscription.
  }, [apiId, enabled, epoch]);
  const token = context.onLiveStatus;

  const [result] = useSubscription<LiveData, Received, { apiId: string }>(
    { query: ApiUsageLiveSubscription, variables: { apiId }, pause: !enabled, context },
    (prev, data) => ({ token, points: mergeUsagePoint(prev?.token === token ? prev.points : [], data.apiUsageLive) }),
  );

  if (!enabled) return { status: 'off', points: [] };
  const mine = (result.operation?.context as LiveContext | undefined)?.onLiveStatus === token;
  const error = mine ? result.error : undefined;
  const transport = reported?.token === token ? reported.status : 'connecting';
  return {
    status: error ? 'failed' : transport,
    error,
    points: result.data?.token === token ? result.data.points : [],
  };
}
