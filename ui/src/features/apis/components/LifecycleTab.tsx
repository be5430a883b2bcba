import { useMutation } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { LifecycleAction } from '../../../gql/graphql';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { canChangeLifecycle } from '../../auth/roles';
import { useSession } from '../../auth/session';
import { ApiLifecycleFields, ChangeLifecycleMutation } from '../queries';

export const ACTION_LABELS: Record<LifecycleAction, string> = {
  PUBLISH: 'Publish',
  DEPLOY_AS_PROTOTYPE: 'Deploy as prototype',
  DEMOTE_TO_CREATED: 'Demote to created',
  BLOCK: 'Block',
  REPUBLISH: 'Republish',
  DEPRECATE: 'Deprecate',
  RETIRE: 'Retire',
};

export function LifecycleTab(props: { api: FragmentType<typeof ApiLifecycleFields> }) {
  const api = getFragmentData(ApiLifecycleFields, props.api);
  const { me } = useSession();
  const [result, change] = useMutation(ChangeLifecycleMutation);
  const allowed = canChangeLifecycle(me);

  return (
    <div className="stack">
      <p>
        Current state: <Badge>{api.lifecycleState}</Badge>
      </p>
      <ErrorNotice error={result.error} title="Cannot change the lifecycle state" />
      {api.pendingLifecycleAction && (
        <div className="notice notice-warning" role="status">
          {ACTION_LABELS[api.pendingLifecycleAction] ?? api.pendingLifecycleAction}: awaiting approval. The API keeps its state until an
          administrator decides.
        </div>
      )}
      {allowed ? (
        api.allowedActions.length === 0 ? (
          <p className="muted">No lifecycle action is possible from this state.</p>
        ) : (
          <div className="actions" role="group" aria-label="Lifecycle actions">
            {api.allowedActions.map((a) => (
              <button
                key={a}
                type="button"
                className={`btn ${a === 'PUBLISH' || a === 'REPUBLISH' ? 'btn-primary' : a === 'BLOCK' || a === 'RETIRE' ? 'btn-danger' : 'btn-secondary'}`}
                disabled={result.fetching || !!api.pendingLifecycleAction}
                onClick={() => change({ apiId: api.id, action: a })}
              >
                {ACTION_LABELS[a] ?? a}
                {api.pendingLifecycleAction === a ? ' (awaiting approval)' : ''}
              </button>
            ))}
          </div>
        )
      ) : (
        <p className="muted">Only publishers and administrators change the lifecycle state.</p>
      )}
      <h2>History</h2>
      {api.lifecycleHistory.length === 0 ? (
        <Empty>No lifecycle changes yet.</Empty>
      ) : (
        <table className="table" aria-label="Lifecycle history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {api.lifecycleHistory.map((h, i) => (
              <tr key={`${h.at}-${i}`}>
                <td>{formatTime(h.at)}</td>
                <td>{h.action ? (ACTION_LABELS[h.action] ?? h.action) : 'Created'}</td>
                <td>{h.from ?? '—'}</td>
                <td>{h.to}</td>
                <td>{h.actor}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
