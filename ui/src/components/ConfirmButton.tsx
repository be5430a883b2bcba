import { useEffect, useRef, useState } from 'react';

/**
 * A destructive action in two steps, without window.confirm: the first press asks, the
 * second ("Confirm") acts, Cancel or Escape goes back.
 */
export function ConfirmButton({
  label,
  ariaLabel,
  confirmLabel,
  question,
  onConfirm,
  disabled,
  className = 'btn btn-danger btn-small',
}: {
  label: string;
  /** A longer accessible name, such as "Delete Mobile App", when the visible label is short. */
  ariaLabel?: string;
  confirmLabel?: string;
  question?: string;
  onConfirm: () => void | Promise<unknown>;
  disabled?: boolean;
  className?: string;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" className={className} disabled={disabled} aria-label={ariaLabel} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span
      className="confirm"
      role="group"
      aria-label={question ?? `${label}?`}
      onKeyDown={(e) => {
        if (e.key === 'Escape') setAsking(false);
      }}
    >
      <span className="confirm-question">{question ?? 'Are you sure?'}</span>
      <button
        ref={confirmRef}
        type="button"
        className="btn btn-danger btn-small"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel ?? `Confirm ${label.toLowerCase()}`}
      </button>
      <button type="button" className="btn btn-secondary btn-small" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
