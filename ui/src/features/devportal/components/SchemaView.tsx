import { CopyButton } from '../../../components/CopyButton';

/** A GraphQL API's SDL, read-only, with a copy button. */
export function SchemaView({ sdl }: { sdl: string }) {
  if (!sdl.trim()) return <p className="muted">The API has no schema.</p>;
  const lines = sdl.split('\n').length;
  return (
    <div className="stack">
      <details open={lines <= 40}>
        <summary>SDL ({lines} lines)</summary>
        <pre className="code" tabIndex={0} aria-label="GraphQL schema">
          {sdl}
        </pre>
      </details>
      <div className="actions">
        <CopyButton value={sdl} label="Copy the schema" />
      </div>
    </div>
  );
}
