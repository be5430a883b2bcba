import { useId, useState } from 'react';
import { useQuery } from 'urql';
import { GroupNamesQuery } from '../queries';
import { groupNameError } from '../governance';

/**
 * Checkboxes for the known groups (only admins may list them) plus a field to add a group by
 * name, so publishers who are not admins can still name groups.
 */
export function GroupsPicker({ legend, value, onChange, hint }: { legend: string; value: string[]; onChange: (v: string[]) => void; hint?: string }) {
  const [{ data }] = useQuery({ query: GroupNamesQuery });
  const [typed, setTyped] = useState('');
  const [typedError, setTypedError] = useState<string | null>(null);
  const id = useId();
  const known = (data?.groups ?? []).map((g) => g.name);
  const names = [...known, ...value.filter((v) => !known.includes(v))];
  const add = () => {
    const err = groupNameError(typed);
    setTypedError(err);
    if (err) return;
    const v = typed.trim();
    if (!value.includes(v)) onChange([...value, v]);
    setTyped('');
  };
  return (
    <fieldset className="fieldset">
      <legend>{legend}</legend>
      {hint && <p className="field-hint">{hint}</p>}
      {names.length === 0 && <p className="muted small">No groups yet.</p>}
      <div className="checks checks-inline">
        {names.map((n) => (
          <div key={n} className="field-check">
            <input
              id={`${id}-${n}`}
              type="checkbox"
              checked={value.includes(n)}
              onChange={(e) => onChange(e.target.checked ? [...value, n] : value.filter((x) => x !== n))}
            />
            <label htmlFor={`${id}-${n}`}>{n}</label>
          </div>
        ))}
      </div>
      <div className="form-inline">
        <div className="field">
          <label htmlFor={`${id}-add`}>Add a group by name ({legend.toLowerCase()})</label>
          <input
            id={`${id}-add`}
            value={typed}
            aria-invalid={typedError ? true : undefined}
            onChange={(e) => setTyped(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                add();
              }
            }}
          />
          {typedError && <span className="field-error">{typedError}</span>}
        </div>
        <button type="button" className="btn btn-secondary btn-small" onClick={add}>
          Add
        </button>
      </div>
    </fieldset>
  );
}
