import { useId, type ReactNode } from 'react';

/**
 * An editable list of short strings (models, prompt guards, hidden tools): one input per
 * entry, each with a Remove button, and Add below. Errors are per entry.
 */
export function ListEditor({
  label,
  itemLabel,
  values,
  onChange,
  hint,
  errors = {},
  placeholder,
  monospace,
}: {
  label: string;
  /** The accessible name of each input: "{itemLabel} 1", "{itemLabel} 2"… */
  itemLabel: string;
  values: string[];
  onChange: (v: string[]) => void;
  hint?: ReactNode;
  errors?: Record<number, string>;
  placeholder?: string;
  monospace?: boolean;
}) {
  const id = useId();
  return (
    <fieldset className="fieldset list-editor" aria-describedby={hint ? `${id}-hint` : undefined}>
      <legend>{label}</legend>
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {values.length === 0 && <p className="muted small">None.</p>}
      <ul className="list-editor-items">
        {values.map((v, i) => (
          <li key={i} className="list-editor-item">
            <input
              aria-label={`${itemLabel} ${i + 1}`}
              className={monospace ? 'mono' : undefined}
              value={v}
              placeholder={placeholder}
              aria-invalid={errors[i] ? true : undefined}
              aria-describedby={errors[i] ? `${id}-err-${i}` : undefined}
              onChange={(e) => onChange(values.map((x, j) => (j === i ? e.target.value : x)))}
            />
            <button
              type="button"
              className="btn btn-secondary btn-small"
              aria-label={`Remove ${itemLabel.toLowerCase()} ${i + 1}`}
              onClick={() => onChange(values.filter((_, j) => j !== i))}
            >
              Remove
            </button>
            {errors[i] && (
              <span className="field-error" id={`${id}-err-${i}`}>
                {errors[i]}
              </span>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="btn btn-secondary btn-small" onClick={() => onChange([...values, ''])}>
        Add {itemLabel.toLowerCase()}
      </button>
    </fieldset>
  );
}
