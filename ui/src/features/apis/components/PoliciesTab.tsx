import { useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiPoliciesFieldsFragment, ApiResourcesFieldsFragment, PolicyFlow } from '../../../gql/graphql';
import { focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { errorField, errorMessage } from '../../../lib/errors';
import { ApiPoliciesFields, ApiResourcesFields, PolicySpecsQuery, UpdateApiMutation } from '../queries';
import {
  errorKey,
  move,
  policyErrorAt,
  rowFor,
  toInput,
  toRows,
  validatePolicies,
  type PolicyRow,
  type PolicySpecLike,
} from '../policies';

/**
 * The Policies tab: the built-in policies attached to the API and to each resource, in the
 * order they run (the API's first, then the resource's). Saves with updateAPI.
 */
export function PoliciesTab(props: {
  api: FragmentType<typeof ApiPoliciesFields>;
  /** The same API's resources (a save sends them back whole, with their policies). */
  resources: FragmentType<typeof ApiResourcesFields>;
}) {
  const api = { ...getFragmentData(ApiPoliciesFields, props.api), ...getFragmentData(ApiResourcesFields, props.resources) };
  // The editor starts over when the saved policies or resources change; the notice outlives it.
  const initial = JSON.stringify([api.policies, api.resources]);
  const [saved, setSaved] = useState(false);
  return <PoliciesEditor key={initial} api={api} saved={saved} setSaved={setSaved} />;
}

function PoliciesEditor({
  api,
  saved,
  setSaved,
}: {
  api: { id: string; policies: ApiPoliciesFieldsFragment['policies']; resources: ApiResourcesFieldsFragment['resources'] };
  saved: boolean;
  setSaved: (v: boolean) => void;
}) {
  const [{ data: specData, error: specError }] = useQuery({ query: PolicySpecsQuery });
  const specs: PolicySpecLike[] = specData?.policySpecs ?? [];
  const [apiRows, setApiRows] = useState<PolicyRow[]>(() => toRows(api.policies));
  const [resourceRows, setResourceRows] = useState<PolicyRow[][]>(() => api.resources.map((r) => toRows(r.policies)));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [result, update] = useMutation(UpdateApiMutation);
  const formRef = useRef<HTMLFormElement>(null);

  // A server error naming a policy field is shown next to that field too.
  const serverAt = result.error ? policyErrorAt(errorField(result.error)) : null;
  const allErrors = { ...errors };
  if (serverAt && result.error) {
    // Beside the field, its name would only repeat what the position says.
    const field = errorField(result.error) ?? '';
    allErrors[errorKey(serverAt.resource, serverAt.index, serverAt.part)] = errorMessage(result.error).replace(`${field}: `, '');
  }

  function changed() {
    setSaved(false);
    setErrors({});
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const errs = {
      ...validatePolicies(apiRows, specs, null),
      ...Object.assign({}, ...resourceRows.map((rows, i) => validatePolicies(rows, specs, i))),
    };
    setErrors(errs);
    if (Object.keys(errs).length) return focusFirstInvalid(formRef.current);
    const res = await update({
      id: api.id,
      input: {
        policies: toInput(apiRows, specs),
        resources: api.resources.map((r, i) => ({
          method: r.method,
          path: r.path,
          authRequired: r.authRequired,
          scopes: r.scopes,
          throttlingPolicy: r.throttlingPolicy ?? null,
          policies: toInput(resourceRows[i] ?? [], specs),
        })),
      },
    });
    if (res.data) setSaved(true);
    else if (res.error && policyErrorAt(errorField(res.error))) focusFirstInvalid(formRef.current);
  }

  return (
    <form ref={formRef} className="form policies" onSubmit={onSubmit} noValidate aria-label="Policies">
      <p className="muted">
        Policies change the request on its way to the backend and the answer on its way back. The API’s policies run first, then the
        resource’s, each list in the order shown. A new revision, once deployed, takes them to the gateways.
      </p>
      <ErrorNotice error={specError} title="Cannot list the built-in policies" />
      <ErrorNotice error={result.error} title="Cannot save the policies" />
      {saved && <SuccessNotice>Policies saved.</SuccessNotice>}
      <PolicyList
        title="API policies"
        scope="the API"
        resource={null}
        rows={apiRows}
        specs={specs}
        errors={allErrors}
        onChange={(rows) => {
          changed();
          setApiRows(rows);
        }}
      />
      {api.resources.map((r, i) => (
        <PolicyList
          key={`${r.method} ${r.path}`}
          title={`${r.method} ${r.path}`}
          scope={`${r.method} ${r.path}`}
          resource={i}
          rows={resourceRows[i] ?? []}
          specs={specs}
          errors={allErrors}
          onChange={(rows) => {
            changed();
            setResourceRows((all) => all.map((x, j) => (j === i ? rows : x)));
          }}
        />
      ))}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save policies'}
        </button>
      </div>
    </form>
  );
}

/** One list of policies (the API's, or a resource's): edit, reorder, remove, add. */
function PolicyList({
  title,
  scope,
  resource,
  rows,
  specs,
  errors,
  onChange,
}: {
  title: string;
  scope: string;
  resource: number | null;
  rows: PolicyRow[];
  specs: PolicySpecLike[];
  errors: Record<string, string>;
  onChange: (rows: PolicyRow[]) => void;
}) {
  const [adding, setAdding] = useState('');
  const choice = adding || specs[0]?.name || '';
  const slug = resource === null ? 'api' : `r${resource}`;

  function patch(i: number, change: Partial<PolicyRow>) {
    onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  }

  return (
    <section className="policy-list" aria-label={`Policies on ${scope}`}>
      <h3 className={resource === null ? undefined : 'mono'}>{title}</h3>
      {rows.length === 0 ? (
        <p className="muted">No policies.</p>
      ) : (
        <table className="table table-edit">
          <caption className="sr-only">Policies on {scope}, in the order they run</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Policy</th>
              <th scope="col">Flow</th>
              <th scope="col">Parameters</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const n = i + 1;
              const spec = specs.find((s) => s.name === r.name);
              const flows: readonly PolicyFlow[] = spec?.flows.length ? spec.flows : [r.flow];
              const paramNames = spec ? spec.parameters : Object.keys(r.params);
              const rowError = (part: string) => errors[errorKey(resource, i, part)];
              const nameErr = rowError('policy');
              return (
                <tr key={r.key}>
                  <td>{n}</td>
                  <td>
                    <span className="mono" title={spec?.description}>
                      {r.name}
                    </span>
                    {nameErr && <span className="field-error">{nameErr}</span>}
                  </td>
                  <td className="policy-flow">
                    {flows.length > 1 ? (
                      <select
                        aria-label={`Flow of policy ${n} on ${scope}`}
                        value={r.flow}
                        aria-invalid={rowError('flow') ? true : undefined}
                        onChange={(e) => patch(i, { flow: e.target.value as PolicyFlow })}
                      >
                        {flows.map((f) => (
                          <option key={f} value={f}>
                            {f}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <span>{r.flow}</span>
                    )}
                    {rowError('flow') && <span className="field-error">{rowError('flow')}</span>}
                  </td>
                  <td>
                    <div className="policy-params">
                      {paramNames.map((p) => {
                        const err = rowError(p);
                        const errId = `policy-${slug}-${r.key}-${p}-error`;
                        return (
                          <label key={p} className="policy-param">
                            <span aria-hidden="true">{p}</span>
                            <input
                              aria-label={`${p} of policy ${n} on ${scope}`}
                              className="mono"
                              value={r.params[p] ?? ''}
                              aria-invalid={err ? true : undefined}
                              aria-describedby={err ? errId : undefined}
                              onChange={(e) => patch(i, { params: { ...r.params, [p]: e.target.value } })}
                            />
                            {err && (
                              <span className="field-error" id={errId}>
                                {err}
                              </span>
                            )}
                          </label>
                        );
                      })}
                    </div>
                  </td>
                  <td className="policy-actions">
                    <button
                      type="button"
                      className="btn btn-secondary btn-small"
                      aria-label={`Move policy ${n} on ${scope} up`}
                      disabled={i === 0}
                      onClick={() => onChange(move(rows, i, -1))}
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      className="btn btn-secondary btn-small"
                      aria-label={`Move policy ${n} on ${scope} down`}
                      disabled={i === rows.length - 1}
                      onClick={() => onChange(move(rows, i, 1))}
                    >
                      ↓
                    </button>
                    <button
                      type="button"
                      className="btn btn-secondary btn-small"
                      aria-label={`Remove policy ${n} (${r.name}) on ${scope}`}
                      onClick={() => onChange(rows.filter((_, j) => j !== i))}
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
      <div className="policy-add">
        <select aria-label={`Policy to add to ${scope}`} value={choice} onChange={(e) => setAdding(e.target.value)} disabled={specs.length === 0}>
          {specs.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name} ({s.flows.join(', ').toLowerCase()})
            </option>
          ))}
        </select>
        <button
          type="button"
          className="btn btn-secondary btn-small"
          aria-label={`Add policy to ${scope}`}
          disabled={!choice}
          onClick={() => {
            const spec = specs.find((s) => s.name === choice);
            if (spec) onChange([...rows, rowFor(spec)]);
          }}
        >
          Add policy
        </button>
        {specs.find((s) => s.name === choice) && <span className="field-hint">{specs.find((s) => s.name === choice)?.description}</span>}
      </div>
    </section>
  );
}
