import { useQuery } from 'urql';
import { ErrorNotice, Loading } from '../../../components/States';
import { SubscriptionTiersQuery } from '../queries';

function describe(p: { requestCount?: number | null; unitTimeSeconds: number }): string {
  if (p.requestCount == null) return 'unlimited';
  const unit = p.unitTimeSeconds === 60 ? 'minute' : p.unitTimeSeconds === 3600 ? 'hour' : p.unitTimeSeconds === 86400 ? 'day' : `${p.unitTimeSeconds} s`;
  return `${p.requestCount.toLocaleString()} requests per ${unit}`;
}

/** Checkboxes for the SUBSCRIPTION policies an API offers. */
export function TierPicker({
  value,
  onChange,
  error,
  legend = 'Subscription tiers',
}: {
  value: string[];
  onChange: (tiers: string[]) => void;
  error?: string | null;
  legend?: string;
}) {
  const [{ data, fetching, error: loadError }] = useQuery({ query: SubscriptionTiersQuery });
  const policies = data?.throttlingPolicies ?? [];
  const known = new Set(policies.map((p) => p.name));
  const unknown = value.filter((v) => !known.has(v));
  return (
    <fieldset className="fieldset" aria-invalid={error ? true : undefined} aria-describedby={error ? 'tiers-error' : undefined}>
      <legend>{legend}</legend>
      {fetching && !data && <Loading label="Loading tiers…" />}
      <ErrorNotice error={loadError} title="Cannot load the tiers" />
      <div className="checks">
        {policies.map((p) => {
          const id = `tier-${p.name}`;
          return (
            <div key={p.name} className="field-check">
              <input
                id={id}
                type="checkbox"
                checked={value.includes(p.name)}
                onChange={(e) => onChange(e.target.checked ? [...value, p.name] : value.filter((v) => v !== p.name))}
              />
              <label htmlFor={id}>
                {p.name} <span className="muted">({describe(p)})</span>
              </label>
            </div>
          );
        })}
        {unknown.map((name) => (
          <div key={name} className="field-check">
            <input id={`tier-${name}`} type="checkbox" checked onChange={() => onChange(value.filter((v) => v !== name))} />
            <label htmlFor={`tier-${name}`}>
              {name} <span className="muted">(policy no longer exists)</span>
            </label>
          </div>
        ))}
      </div>
      {error && (
        <span className="field-error" id="tiers-error">
          {error}
        </span>
      )}
    </fieldset>
  );
}
