import { useMemo, useState } from 'react';
import { useSubscription } from 'urql';
import type { CombinedError } from '@urql/core';
import type { ApiDeploymentsLiveSubscription as LiveData } from '../../gql/graphql';
import type { LiveContext, LiveStatus } from '../../lib/live';
import { ApiDeploymentsLiveSubscription } from './queries';

export type LiveDeploymentList = LiveData['deployments'];

export interface LiveDeployments {
  status: LiveStatus;
  /** Why live updates stopped, when the server or the socket said so. */
  error?: CombinedError;
  /** The latest list the server sent (each message is the whole list), or null before the first. */
  deployments: LiveDeploymentList | null;
}

interface Received {
  token: unknown;
  deployments: LiveDeploymentList;
}

/**
 * Subscribes to Live.deployments(apiId). Each `epoch` (a Reconnect) starts a fresh
 * subscription; the status and the list always belong to the current one.
 */
export function useLiveDeployments(apiId: string, epoch: unknown): LiveDeployments {
  const [reported, setReported] = useState<{ token: unknown; status: LiveStatus }>();
  const context = useMemo(() => {
    const onLiveStatus = (status: LiveStatus) => setReported({ token: onLiveStatus, status });
    return { onLiveStatus } satisfies LiveContext;
    // `epoch` is a dependency on purpose: a new epoch restarts the subscription.
  }, [apiId, epoch]);
  const token = context.onLiveStatus;

  const [result] = useSubscription<LiveData, Received, { apiId: string }>(
    { query: ApiDeploymentsLiveSubscription, variables: { apiId }, context },
    (_prev, data) => ({ token, deployments: data.deployments }),
  );

  const mine = (result.operation?.context as LiveContext | undefined)?.onLiveStatus === token;
  const error = mine ? result.error : undefined;
  const transport = reported?.token === token ? reported.status : 'connecting';
  return {
    status: error ? 'failed' : transport,
    error,
    deployments: result.data?.token === token ? result.data.deployments : null,
  };
}
