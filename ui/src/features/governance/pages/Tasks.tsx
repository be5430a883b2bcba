import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { getFragmentData } from '../../../gql';
import type { WorkflowTaskFieldsFragment } from '../../../gql/graphql';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { typenames } from '../../../lib/typenames';
import { errorCode } from '../../../lib/errors';
import { WORKFLOW_LABELS, orderTasks } from '../governance';
import { DecideWorkflowTaskMutation, WorkflowTaskFields, WorkflowTasksQuery } from '../queries';

function TaskRow({ task }: { task: WorkflowTaskFieldsFragment }) {
  const [comment, setComment] = useState('');
  const [result, decide] = useMutation(DecideWorkflowTaskMutation);
  const pending = task.status === 'PENDING';
  const commentId = `task-comment-${task.id}`;
  return (
    <tr>
      <td>{WORKFLOW_LABELS[task.type] ?? task.type}</td>
      <td>{task.subject}</td>
      <td>{task.requestedBy.username}</td>
      <td>{formatTime(task.createdAt)}</td>
      <td>
        <Badge>{task.status}</Badge>
        {!pending && (
          <span className="muted small">
            {' '}
            by {task.decidedBy?.username ?? 'unknown'}
            {task.decidedAt ? `, ${formatTime(task.decidedAt)}` : ''}
            {task.comment ? ` — “${task.comment}”` : ''}
          </span>
        )}
      </td>
      <td className="actions">
        {pending && (
          <div className="stack">
            <label htmlFor={commentId} className="sr-only">
              Comment on {task.subject}
            </label>
            <input id={commentId} type="text" placeholder="Comment (optional)" value={comment} onChange={(e) => setComment(e.target.value)} />
            <div className="actions">
              <button
                type="button"
                className="btn btn-primary btn-small"
                disabled={result.fetching}
                aria-label={`Approve ${task.subject}`}
                onClick={() => decide({ id: task.id, approve: true, comment: comment.trim() || null })}
              >
                Approve
              </button>
              <button
                type="button"
                className="btn btn-danger btn-small"
                disabled={result.fetching}
                aria-label={`Reject ${task.subject}`}
                onClick={() => decide({ id: task.id, approve: false, comment: comment.trim() || null })}
              >
                Reject
              </button>
            </div>
          </div>
        )}
        <ErrorNotice
          error={result.error}
          title={errorCode(result.error) === 'CONFLICT' ? 'Already decided' : 'Cannot decide the task'}
        />
      </td>
    </tr>
  );
}

export default function Tasks() {
  useTitle('Tasks · Admin');
  const [{ data, fetching, error }, refetch] = useQuery({ query: WorkflowTasksQuery, context: typenames('WorkflowTask') });
  const all = data
    ? orderTasks(
        [...data.pending, ...data.approved, ...data.rejected].map((t) => getFragmentData(WorkflowTaskFields, t)),
      )
    : [];
  const pendingCount = all.filter((t) => t.status === 'PENDING').length;
  return (
    <section className="page">
      <div className="page-header">
        <h1>Tasks</h1>
        <div className="actions">
          <span className="muted">{pendingCount} pending</span>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => refetch({ requestPolicy: 'network-only' })}>
            Refresh
          </button>
        </div>
      </div>
      <p className="muted">Requests waiting for approval come first; decided ones follow, newest first.</p>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {fetching && !data && <Loading label="Loading tasks…" />}
      {data && all.length === 0 && <Empty>No tasks. Turn approval on for a request type in Workflow settings.</Empty>}
      {all.length > 0 && (
        <table className="table" aria-label="Tasks">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Subject</th>
              <th scope="col">Requested by</th>
              <th scope="col">When</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {all.map((t) => (
              <TaskRow key={t.id} task={t} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
