import { useQuery } from 'urql';
import { getFragmentData } from '../../../gql';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { typenames } from '../../../lib/typenames';
import { WORKFLOW_LABELS } from '../governance';
import { MyWorkflowTasksQuery, WorkflowTaskFields } from '../queries';

/** The signed-in user's requests that needed approval, and their outcomes (newest first). */
export default function MyRequests() {
  useTitle('My requests · Developer Portal');
  const [{ data, fetching, error }, refetch] = useQuery({ query: MyWorkflowTasksQuery, context: typenames('WorkflowTask') });
  const tasks = (data?.myWorkflowTasks ?? []).map((t) => getFragmentData(WorkflowTaskFields, t));
  return (
    <section className="page">
      <div className="page-header">
        <h1>My requests</h1>
        <button type="button" className="btn btn-secondary btn-small" onClick={() => refetch({ requestPolicy: 'network-only' })}>
          Refresh
        </button>
      </div>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {fetching && !data && <Loading label="Loading your requests…" />}
      {data && tasks.length === 0 && <Empty>No request of yours has needed approval.</Empty>}
      {tasks.length > 0 && (
        <table className="table" aria-label="My requests">
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">Subject</th>
              <th scope="col">When</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.id}>
                <td>{WORKFLOW_LABELS[t.type] ?? t.type}</td>
                <td>{t.subject}</td>
                <td>{formatTime(t.createdAt)}</td>
                <td>
                  <Badge>{t.status}</Badge>
                  {t.status !== 'PENDING' && (
                    <span className="muted small">
                      {' '}
                      {t.decidedAt ? formatTime(t.decidedAt) : ''}
                      {t.comment ? ` — “${t.comment}”` : ''}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
