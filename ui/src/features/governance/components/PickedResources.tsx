import { MethodBadge } from '../../../components/Badge';
import { clashingResources, resourceKey, toggleResource, type ProductResourcePick } from '../governance';

/** The resources picked so far, with where each comes from and a remove button. */
export function PickedResources({
  value,
  onChange,
  apiNames,
}: {
  value: ProductResourcePick[];
  onChange: (v: ProductResourcePick[]) => void;
  apiNames: Record<string, string>;
}) {
  const clashes = clashingResources(value);
  if (value.length === 0) return <p className="muted">No resources picked yet.</p>;
  return (
    <>
      {clashes.length > 0 && (
        <p className="field-error" role="alert">
          Two APIs answer the same operation under the product: {clashes.join(', ')}. Keep one of each.
        </p>
      )}
      <ul className="operation-list" aria-label="Picked resources">
        {value.map((r) => (
          <li key={resourceKey(r)} className="mono">
            <MethodBadge method={r.method} /> {r.path} <span className="muted small">from {apiNames[r.apiId] ?? r.apiId}</span>{' '}
            <button
              type="button"
              className="btn btn-secondary btn-small"
              aria-label={`Remove ${r.method} ${r.path}`}
              onClick={() => onChange(toggleResource(value, r, false))}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
