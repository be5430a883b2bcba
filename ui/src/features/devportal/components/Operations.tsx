import { MethodBadge } from '../../../components/Badge';
import { Empty, ErrorNotice } from '../../../components/States';
import type { Operation } from '../../../lib/openapi';

/** The operations of an API's OpenAPI document: method, path, summary and parameters. */
export function Operations({ operations, error }: { operations: Operation[]; error?: string }) {
  if (error) return <ErrorNotice error={error} title="Cannot read the API definition" />;
  if (operations.length === 0) return <Empty>The API definition lists no operations.</Empty>;
  return (
    <ul className="operations" aria-label="Operations">
      {operations.map((op) => (
        <li key={`${op.method} ${op.path}`} className="operation">
          <details>
            <summary>
              <MethodBadge method={op.method} /> <span className="mono op-path">{op.path}</span>
              {op.summary && <span className="op-summary"> {op.summary}</span>}
              {op.deprecated && <span className="badge badge-deprecated">Deprecated</span>}
            </summary>
            <div className="op-body">
              {op.description && <p>{op.description}</p>}
              {op.parameters.length === 0 ? (
                <p className="muted">No parameters.</p>
              ) : (
                <table className="table table-compact" aria-label={`Parameters of ${op.method} ${op.path}`}>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">In</th>
                      <th scope="col">Type</th>
                      <th scope="col">Required</th>
                      <th scope="col">Description</th>
                    </tr>
                  </thead>
                  <tbody>
                    {op.parameters.map((p) => (
                      <tr key={`${p.in}:${p.name}`}>
                        <td className="mono">{p.name}</td>
                        <td>{p.in}</td>
                        <td>{p.schemaType ?? ''}</td>
                        <td>{p.required ? 'Yes' : 'No'}</td>
                        <td>{p.description ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {op.requestBody && (
                <p>
                  Request body{op.requestBody.required ? ' (required)' : ''}: {op.requestBody.contentTypes.join(', ') || 'any'}
                </p>
              )}
            </div>
          </details>
        </li>
      ))}
    </ul>
  );
}
