import { useMutation, useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { canChangeLifecycle } from '../../auth/roles';
import { useSession } from '../../auth/session';
import { ApiSubscriptionsQuery, BlockSubscriptionMutation, UnblockSubscriptionMutation } from '../queries';
import { typenames } from '../../../lib/typenames';

export function SubscriptionsTab({ apiId }: { apiId: string }) {
  const { me } = useSession();
  const mayBlock = canChangeLifecycle(me); // ADMIN or PUBLISHER
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ApiSubscriptionsQuery,
    variables: { id: apiId },
    requestPolicy: 'cache-and-network',
    context: typenames('Subscription'),
  });
  const [blockResult, block] = useMutation(BlockSubscriptionMutation);
  const [unblockResult, unblock] = useMutation(UnblockSubscriptionMutation);
  const subs = data?.api?.subscriptions ?? [];
  const busy = blockResult.fetching || unblockResult.fetching;

  return (
    <div className="stack">
      <h2>Subscriptions</h2>
      {fetching && !data && <Loading label="Loading subscriptions…" />}
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      <ErrorNotice error={blockResult.error || unblockResult.error} title="Cannot change the subscription" />
      {data && subs.length === 0 && <Empty>No application subscribes to this API yet.</Empty>}
      {subs.length > 0 && (
        <table className="table" aria-label="Subscriptions">
          <thead>
            <tr>
              <th scope="col">Application</th>
              <th scope="col">Owner</th>
              <th scope="col">Tier</th>
              <th scope="col">Status</th>
              <th scope="col">Since</th>
              {mayBlock && (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {subs.map((s) => (
              <tr key={s.id}>
                <td>{s.application.name}</td>
                <td>{s.application.owner.username}</td>
                <td>{s.tier}</td>
                <td>
                  <Badge>{s.status}</Badge>
                </td>
                <td>{formatTime(s.createdAt)}</td>
                {mayBlock && (
                  <td className="actions">
                    {s.status === 'ACTIVE' && (
                      <>
                        <button
                          type="button"
                          className="btn btn-danger btn-small"
                          disabled={busy}
                          aria-label={`Block subscription of ${s.application.name}`}
                          onClick={() => block({ id: s.id, productionOnly: false })}
                        >
                          Block
                        </button>
                        <button
                          type="button"
                          className="btn btn-secondary btn-small"
                          disabled={busy}
                          aria-label={`Block production only for ${s.application.name}`}
                          onClick={() => block({ id: s.id, productionOnly: true })}
                        >
                          Block production only
                        </button>
                      </>
                    )}
                    {(s.status === 'BLOCKED' || s.status === 'PROD_ONLY_BLOCKED') && (
                      <button
                        type="button"
                        className="btn btn-secondary btn-small"
                        disabled={busy}
                        aria-label={`Unblock subscription of ${s.application.name}`}
                        onClick={() => unblock({ id: s.id })}
                      >
                        Unblock
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
