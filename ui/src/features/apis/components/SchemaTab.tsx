import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { MethodBadge } from '../../../components/Badge';
import { CheckboxField, TextField } from '../../../components/Field';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiSchemaFieldsFragment } from '../../../gql/graphql';
import { errorField, errorMessage } from '../../../lib/errors';
import { rootFields } from '../../../lib/sdl';
import { splitList } from '../../../lib/validate';
import { ApiSchemaFields, UpdateApiMutation } from '../queries';

/** Checks an allowlist of persisted-query hashes: SHA-256 in hex. Returns a message or null. */
export function persistedQueriesError(hashes: string[]): string | null {
  const bad = hashes.find((h) => !/^[0-9a-f]{64}$/.test(h));
  if (bad) return `${bad} is not a SHA-256 hash: 64 lowercase hex digits.`;
  return null;
}

/** The hex SHA-256 of a GraphQL document, exactly as sent (as the gateway hashes it). */
export async function documentHash(document: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(document));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A GRAPHQL API's schema (SDL, editable; the server checks that the resources still name its
 * fields) and persisted queries; an SSE API's event counting.
 */
export function SchemaTab(props: { api: FragmentType<typeof ApiSchemaFields> }) {
  const api = getFragmentData(ApiSchemaFields, props.api);
  const [saved, setSaved] = useState<string | null>(null);
  const key = JSON.stringify([api.graphQLSchema, api.requirePersistedQueries, api.persistedQueries, api.countEvents]);
  if (api.type === 'SSE') return <EventsForm key={key} api={api} saved={saved} setSaved={setSaved} />;
  if (api.type !== 'GRAPHQL') return <p className="muted">Only GraphQL and SSE APIs have settings here.</p>;
  return (
    <div className="stack">
      <SdlForm key={`sdl ${api.graphQLSchema}`} api={api} saved={saved} setSaved={setSaved} />
      <PersistedForm key={`pq ${key}`} api={api} saved={saved} setSaved={setSaved} />
    </div>
  );
}

interface FormProps {
  api: ApiSchemaFieldsFragment;
  saved: string | null;
  setSaved: (v: string | null) => void;
}

function SdlForm({ api, saved, setSaved }: FormProps) {
  const [sdl, setSdl] = useState(api.graphQLSchema ?? '');
  const [error, setError] = useState<string | null>(null);
  const [result, update] = useMutation(UpdateApiMutation);
  const fields = rootFields(sdl);
  const serverError = errorField(result.error)?.endsWith('graphQLSchema') ? errorMessage(result.error) : null;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    const err = !sdl.trim() ? 'The schema is required.' : fields.length === 0 ? 'The SDL has no root fields: declare type Query { ... }.' : null;
    setError(err);
    if (err) return;
    const res = await update({ id: api.id, input: { graphQLSchema: sdl } });
    if (res.data) setSaved('Schema saved.');
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Schema">
      {!serverError && <ErrorNotice error={result.error} title="Cannot save the schema" />}
      {saved === 'Schema saved.' && <SuccessNotice>{saved}</SuccessNotice>}
      <TextField
        label="Schema (SDL)"
        value={sdl}
        onChange={(v) => {
          setSaved(null);
          setSdl(v);
        }}
        error={error ?? serverError}
        multiline
        rows={16}
        monospace
        hint="The gateway checks every query against it. Fields may carry @cost(weight: Int!), list fields @listSize(assumedSize: Int!). The resources must still name its root fields."
      />
      <details>
        <summary>Root fields ({fields.length})</summary>
        <ul className="operation-list" aria-label="Root fields">
          {fields.map((f) => (
            <li key={`${f.kind} ${f.name}`} className="mono">
              <MethodBadge method={f.kind} /> {f.name}
            </li>
          ))}
        </ul>
      </details>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save schema'}
        </button>
      </div>
    </form>
  );
}

function PersistedForm({ api, saved, setSaved }: FormProps) {
  const [required, setRequired] = useState(api.requirePersistedQueries);
  const [hashes, setHashes] = useState(api.persistedQueries.join('\n'));
  const [doc, setDoc] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [result, update] = useMutation(UpdateApiMutation);
  const serverError = errorField(result.error)?.includes('persistedQueries') ? errorMessage(result.error) : null;

  async function addDocument() {
    if (!doc.trim()) return;
    const h = await documentHash(doc);
    setHashes((x) => (splitList(x).includes(h) ? x : [...splitList(x), h].join('\n')));
    setDoc('');
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    const list = splitList(hashes.toLowerCase());
    const err = persistedQueriesError(list) ?? (required && list.length === 0 ? 'Requiring persisted queries with none listed refuses every call: add a hash.' : null);
    setError(err);
    if (err) return;
    const res = await update({ id: api.id, input: { requirePersistedQueries: required, persistedQueries: list } });
    if (res.data) setSaved('Persisted queries saved.');
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Persisted queries">
      <h2>Persisted queries</h2>
      {!serverError && <ErrorNotice error={result.error} title="Cannot save the persisted queries" />}
      {saved === 'Persisted queries saved.' && <SuccessNotice>{saved}</SuccessNotice>}
      <CheckboxField
        label="Require persisted queries"
        checked={required}
        onChange={(v) => {
          setSaved(null);
          setRequired(v);
        }}
        hint="The gateway then refuses every document whose SHA-256 is not listed below."
      />
      <TextField
        label="Allowed SHA-256 hashes"
        value={hashes}
        onChange={(v) => {
          setSaved(null);
          setHashes(v);
        }}
        error={error ?? serverError}
        multiline
        rows={5}
        monospace
        hint="One a line: the hex SHA-256 of each document, exactly as clients send it."
      />
      <TextField label="Add a document" value={doc} onChange={setDoc} multiline rows={4} monospace hint="Paste a query to add its hash to the list." />
      <div className="form-actions">
        <button type="button" className="btn btn-secondary" onClick={addDocument} disabled={!doc.trim()}>
          Add its hash
        </button>
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save persisted queries'}
        </button>
      </div>
    </form>
  );
}

function EventsForm({ api, saved, setSaved }: FormProps) {
  const [count, setCount] = useState(api.countEvents);
  const [result, update] = useMutation(UpdateApiMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    const res = await update({ id: api.id, input: { countEvents: count } });
    if (res.data) setSaved('Event counting saved.');
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Events">
      <ErrorNotice error={result.error} title="Cannot save the setting" />
      {saved && <SuccessNotice>{saved}</SuccessNotice>}
      <CheckboxField
        label="Count events"
        checked={count}
        onChange={(v) => {
          setSaved(null);
          setCount(v);
        }}
        hint="Every event sent counts against the tiers, besides the connection."
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}
