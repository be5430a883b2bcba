import { useQuery } from 'urql';
import { ErrorNotice, Loading } from '../../../components/States';
import { MockPreviewQuery } from '../queries';

/**
 * What a MOCK endpoint answers for each resource (status, content type, body), from the
 * saved OpenAPI definition. Shown beside the endpoint settings when the type is MOCK.
 */
export function MockPreview({ apiId, saved }: { apiId: string; saved: boolean }) {
  const [{ data, fetching, error }] = useQuery({
    query: MockPreviewQuery,
    variables: { id: apiId },
    pause: !saved,
    requestPolicy: 'cache-and-network',
  });
  if (!saved) return <p className="muted">Save with the Mock type to see what each resource answers.</p>;
  if (!data && fetching) return <Loading label="Loading the mock answers…" />;
  if (error && !data) return <ErrorNotice error={error} title="Cannot preview the mock answers" />;
  const rows = data?.api?.mockPreview ?? [];
  if (rows.length === 0) return <p className="muted">No resource to answer.</p>;
  return (
    <table className="table table-compact mock-preview" aria-label="Mock answers">
      <thead>
        <tr>
          <th scope="col">Method</th>
          <th scope="col">Path</th>
          <th scope="col">Status</th>
          <th scope="col">Content type</th>
          <th scope="col">Body</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.method} ${r.path}`}>
            <td>{r.method}</td>
            <td className="mono">{r.path}</td>
            <td>{r.status}</td>
            <td className="mono">{r.contentType}</td>
            <td>
              <pre className="code mock-body">{r.body || '(empty)'}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
