import { useState } from 'react';

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  return (
    <>
      <button
        type="button"
        className="btn btn-secondary btn-small"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(value);
            setCopied('yes');
          } catch {
            setCopied('no');
          }
          window.setTimeout(() => setCopied(null), 2500);
        }}
      >
        {label}
      </button>
      <span className="copy-status" role="status" aria-live="polite">
        {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </>
  );
}
