import { useEffect } from 'react';
import { useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { ControlPlaneStatusQuery } from '../queries';

const KIND_LABEL: Record<string, string> = { GATEWAY: 'Gateway', TRAFFIC_MANAGER: 'Traffic manager', KEY_MANAGER: 'Key manager' };

export default function Runtimes() {
  useTitle('Runtimes · Admin');
  const [{ data, fetching, error }, refetch] = useQuery({ query: ControlPlaneStatusQuery, requestPolicy: 'network-only' });
  // Poll while the page is open.
  useEffect(() => {
    const t = window.setInterval(() => refetch({ requestPolicy: 'network-only' }), 10_000);
    return () => window.clearInterval(t);
  }, [refetch]);
  const status = data?.controlPlaneStatus;
  return (
    <section className="page">
      <div className="page-header">
        <h1>Gateways and traffic managers</h1>
        <button type="button" className="btn btn-secondary" onClick={() => refetch({ requestPolicy: 'network-only' })} disabled={fetching}>
          Refresh
        </button>
      </div>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {!status && fetching && <Loading label="Loading runtime status…" />}
      {status && (
        <>
          <p>
            Control plane revision: <strong data-testid="control-revision">{status.revision}</strong>
          </p>
          {status.runtimes.length === 0 ? (
            <Empty>No gateway or traffic manager has connected.</Empty>
          ) : (
            <table className="table" aria-label="Runtimes">
              <thead>
                <tr>
                  <th scope="col">Instance</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Address</th>
                  <th scope="col">Environments</th>
                  <th scope="col">Applied revision</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {status.runtimes.map((r) => (
                  <tr key={r.id}>
                    <td className="mono">{r.id}</td>
                    <td>{KIND_LABEL[r.kind] ?? r.kind}</td>
                    <td className="mono">{r.address ?? '—'}</td>
                    <td>{r.environments.length ? r.environments.join(', ') : <span className="muted">—</span>}</td>
                    <td>
                      <AppliedRevision current={status.revision} applied={r.revision} />
                    </td>
                    <td>
                      <Badge tone={r.healthy ? 'healthy' : 'unhealthy'}>{r.healthy ? 'Healthy' : 'Unhealthy'}</Badge>
                    </td>
                    <td>{formatTime(r.lastSeen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

/** A runtime's applied revision beside the control plane's; none for runtimes that apply no control events. */
function AppliedRevision({ current, applied }: { current: number; applied?: number | null }) {
  if (applied == null) return <span className="muted">— (applies no control events)</span>;
  const lag = current - applied;
  return (
    <>
      {applied}
      {lag > 0 ? <span className="muted"> ({lag} behind)</span> : <span className="muted"> (up to date)</span>}
    </>
  );
}
