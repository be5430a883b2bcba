import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiResourcesFieldsFragment, AttachedPolicyInput } from '../../../gql/graphql';
import { ErrorNotice, SuccessNotice, Empty } from '../../../components/States';
import { fieldName, rootFields, OPERATION_KINDS, type RootField } from '../../../lib/sdl';
import { resourcePath, splitList } from '../../../lib/validate';
import { AdvancedPoliciesQuery, ApiResourcesFields, UpdateApiMutation } from '../queries';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY'];

export interface ResourceRow {
  key: number;
  method: string;
  path: string;
  authRequired: boolean;
  scopes: string;
  throttlingPolicy: string;
  /** The resource's policies (edited on the Policies tab), sent back unchanged. */
  policies: AttachedPolicyInput[];
}

/** The methods a resource of an API of this type may have. */
export function methodsFor(apiType: string): string[] {
  if (apiType === 'GRAPHQL') return OPERATION_KINDS;
  if (apiType === 'WS' || apiType === 'SSE') return ['GET'];
  return METHODS;
}

/**
 * Checks the rows: valid paths, no method+path twice. A GRAPHQL API's rows are operations:
 * the path is a root field, of the method's kind when the schema is known. Returns a message
 * per row index.
 */
export function validateResources(
  rows: Array<Pick<ResourceRow, 'method' | 'path'>>,
  graphQL?: { fields: RootField[] },
): Record<number, string> {
  const errors: Record<number, string> = {};
  const seen = new Map<string, number>();
  rows.forEach((r, i) => {
    let err = graphQL ? fieldName(r.path) : resourcePath(r.path);
    if (!err && graphQL && graphQL.fields.length > 0 && !graphQL.fields.some((f) => f.kind === r.method && f.name === r.path.trim())) {
      err = `The schema has no ${r.method.toLowerCase()} field ${r.path.trim()}.`;
    }
    if (err) {
      errors[i] = err;
      return;
    }
    const k = `${r.method} ${r.path.trim()}`;
    if (seen.has(k)) errors[i] = `${k} is already resource ${seen.get(k)! + 1}.`;
    else seen.set(k, i);
  });
  return errors;
}

let nextKey = 1;

export function ResourcesTab(props: { api: FragmentType<typeof ApiResourcesFields> }) {
  const api = getFragmentData(ApiResourcesFields, props.api);
  const initial = JSON.stringify(api.resources);
  // The notice lives outside the editor, which starts over when the saved resources change.
  const [saved, setSaved] = useState(false);
  return <ResourcesEditor key={initial} api={api} saved={saved} setSaved={setSaved} />;
}

function ResourcesEditor({
  api,
  saved,
  setSaved,
}: {
  api: ApiResourcesFieldsFragment;
  saved: boolean;
  setSaved: (v: boolean) => void;
}) {
  const [rows, setRows] = useState<ResourceRow[]>(() =>
    api.resources.map((r) => ({
      key: nextKey++,
      method: r.method,
      path: r.path,
      authRequired: r.authRequired,
      scopes: r.scopes.join(', '),
      throttlingPolicy: r.throttlingPolicy ?? '',
      policies: r.policies.map((p) => ({ name: p.name, flow: p.flow, parameters: p.parameters.map((x) => ({ name: x.name, value: x.value })) })),
    })),
  );
  const [errors, setErrors] = useState<Record<number, string>>({});
  const [result, update] = useMutation(UpdateApiMutation);
  const [{ data: policies }] = useQuery({ query: AdvancedPoliciesQuery });
  const policyNames = policies?.throttlingPolicies.map((p) => p.name) ?? [];
  const graphQL = api.type === 'GRAPHQL';
  const fields = graphQL ? rootFields(api.graphQLSchema ?? '') : [];
  const methods = methodsFor(api.type);
  const listId = `fields-${api.id}`;

  /** A new row: for a GRAPHQL API the first root field without a resource. */
  function newRow(): ResourceRow {
    const base = { key: nextKey++, authRequired: true, scopes: '', throttlingPolicy: '', policies: [] };
    if (!graphQL) return { ...base, method: methods[0], path: methods.length === 1 ? '/*' : '/' };
    const free = fields.find((f) => !rows.some((r) => r.method === f.kind && r.path === f.name));
    return { ...base, method: free?.kind ?? 'QUERY', path: free?.name ?? '' };
  }

  function patch(i: number, change: Partial<ResourceRow>) {
    setSaved(false);
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...change } : r)));
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const errs = validateResources(rows, graphQL ? { fields } : undefined);
    setErrors(errs);
    if (Object.keys(errs).length) return;
    const res = await update({
      id: api.id,
      input: {
        resources: rows.map((r) => ({
          method: r.method,
          path: r.path.trim(),
          authRequired: r.authRequired,
          scopes: splitList(r.scopes),
          throttlingPolicy: r.throttlingPolicy || null,
          policies: r.policies,
        })),
      },
    });
    if (res.data) setSaved(true);
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Resources">
      <ErrorNotice error={result.error} title="Cannot save the resources" />
      {saved && <SuccessNotice>Resources saved.</SuccessNotice>}
      {graphQL && (
        <p className="muted small">
          Each resource is an operation of the schema: a query, mutation or subscription root field. A call is allowed when every root field it
          selects is a resource, and needs the scopes of each.
        </p>
      )}
      {rows.length === 0 ? (
        <Empty>No resources: the gateway will reject every call. Add one.</Empty>
      ) : (
        <table className="table table-edit">
          <caption className="sr-only">Resources of the API</caption>
          <thead>
            <tr>
              <th scope="col">{graphQL ? 'Operation' : 'Method'}</th>
              <th scope="col">{graphQL ? 'Field' : 'Path'}</th>
              <th scope="col">Auth required</th>
              <th scope="col">Scopes</th>
              <th scope="col">Throttling policy</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const n = i + 1;
              const errId = `resource-${r.key}-error`;
              return (
                <tr key={r.key}>
                  <td>
                    <select aria-label={`Method of resource ${n}`} value={r.method} onChange={(e) => patch(i, { method: e.target.value })}>
                      {[...new Set([...methods, r.method])].map((m) => (
                        <option key={m}>{m}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input
                      aria-label={graphQL ? `Field of resource ${n}` : `Path of resource ${n}`}
                      className="mono"
                      list={graphQL ? listId : undefined}
                      value={r.path}
                      aria-invalid={errors[i] ? true : undefined}
                      aria-describedby={errors[i] ? errId : undefined}
                      onChange={(e) => patch(i, { path: e.target.value })}
                    />
                    {errors[i] && (
                      <span className="field-error" id={errId}>
                        {errors[i]}
                      </span>
                    )}
                  </td>
                  <td className="center">
                    <input
                      type="checkbox"
                      aria-label={`Auth required for resource ${n}`}
                      checked={r.authRequired}
                      onChange={(e) => patch(i, { authRequired: e.target.checked })}
                    />
                  </td>
                  <td>
                    <input
                      aria-label={`Scopes of resource ${n}`}
                      value={r.scopes}
                      placeholder="read:pets, write:pets"
                      onChange={(e) => patch(i, { scopes: e.target.value })}
                    />
                  </td>
                  <td>
                    <select
                      aria-label={`Throttling policy of resource ${n}`}
                      value={r.throttlingPolicy}
                      onChange={(e) => patch(i, { throttlingPolicy: e.target.value })}
                    >
                      <option value="">None</option>
                      {[...new Set([...policyNames, ...(r.throttlingPolicy ? [r.throttlingPolicy] : [])])].map((p) => (
                        <option key={p}>{p}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="btn btn-secondary btn-small"
                      aria-label={`Remove resource ${n} (${r.method} ${r.path})`}
                      onClick={() => {
                        setSaved(false);
                        setErrors({});
                        setRows((rs) => rs.filter((_, j) => j !== i));
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {graphQL && (
        <datalist id={listId}>
          {fields.map((f) => (
            <option key={`${f.kind} ${f.name}`} value={f.name}>
              {f.kind}
            </option>
          ))}
        </datalist>
      )}
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => {
            setSaved(false);
            setRows((rs) => [...rs, newRow()]);
          }}
        >
          Add resource
        </button>
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save resources'}
        </button>
      </div>
    </form>
  );
}
