import { useState } from 'react';
import { useQuery } from 'urql';
import { MethodBadge } from '../../../components/Badge';
import { ErrorNotice, Loading } from '../../../components/States';
import { resourceKey, toggleResource, type ProductResourcePick } from '../governance';
import { ProductSourceApisQuery } from '../queries';

/** Picks operations of existing APIs (not products) for a product. */
export function ResourcePicker({ value, onChange, excludeApiId }: { value: ProductResourcePick[]; onChange: (v: ProductResourcePick[]) => void; excludeApiId?: string }) {
  const [query, setQuery] = useState('');
  const [{ data, fetching, error }] = useQuery({ query: ProductSourceApisQuery, variables: { query: query.trim() || null } });
  const apis = (data?.apis.edges ?? []).map((e) => e.node).filter((a) => a.type !== 'PRODUCT' && a.id !== excludeApiId);
  const picked = new Set(value.map(resourceKey));
  return (
    <fieldset className="fieldset">
      <legend>Resources</legend>
      <div className="field">
        <label htmlFor="product-api-search">Search APIs</label>
        <input id="product-api-search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      <ErrorNotice error={error} title="Cannot load the APIs" />
      {fetching && !data && <Loading label="Loading APIs…" />}
      {data && apis.length === 0 && <p className="muted">No APIs match.</p>}
      {apis.map((a) => (
        <div key={a.id} className="stack" role="group" aria-label={`Operations of ${a.name} ${a.version}`}>
          <h4>
            {a.name} <span className="muted">{a.version}</span> <span className="mono muted small">{a.context}</span>
          </h4>
          {a.resources.length === 0 && <p className="muted small">No operations.</p>}
          {a.resources.map((r) => {
            const pick = { apiId: a.id, method: r.method, path: r.path };
            const id = `pick-${a.id}-${r.method}-${r.path}`;
            return (
              <div key={id} className="field-check">
                <input
                  id={id}
                  type="checkbox"
                  aria-label={`${r.method} ${r.path} of ${a.name}`}
                  checked={picked.has(resourceKey(pick))} onChange={(e) => onChange(toggleResource(value, pick, e.target.checked))} />
                <label htmlFor={id} className="mono">
                  <MethodBadge method={r.method} /> {r.path}
                </label>
              </div>
            );
          })}
        </div>
      ))}
    </fieldset>
  );
}
