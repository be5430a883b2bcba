import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { CopyButton } from '../../../components/CopyButton';
import { ErrorNotice } from '../../../components/States';
import { TokenField, useFirstHeldToken } from './TokenField';

interface Result {
  status: number;
  ms: number;
  cost: string | null;
  body: string;
}

/** Parses the variables editor: empty is no variables; otherwise a JSON object. */
export function parseVariables(text: string): { variables?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `Variables are not JSON: ${(err as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'Variables must be a JSON object, such as {"first": 5}.' };
  return { variables: v as Record<string, unknown> };
}

/**
 * The query's cost: the X-GraphQL-Cost header when the gateway exposes it to this page,
 * else the cost in the response's extensions.
 */
export function responseCost(header: string | null, body: unknown): string | null {
  if (header) return header;
  const cost = (body as { extensions?: { cost?: unknown } } | null)?.extensions?.cost;
  if (cost === undefined || cost === null) return null;
  return typeof cost === 'object' ? JSON.stringify(cost) : String(cost);
}

/** A starting query: the first query field of the schema, selected bare. */
export function exampleQuery(fields: Array<{ kind: string; name: string }>): string {
  const q = fields.find((f) => f.kind === 'QUERY');
  return q ? `query {\n  ${q.name}\n}\n` : 'query {\n  __typename\n}\n';
}

/**
 * The GraphQL try-it console: sends a query with its variables to the gateway (POST, JSON)
 * with the access token, and shows the result and its query cost.
 */
export function GraphQLTryIt({ gatewayURLs, initialQuery }: { gatewayURLs: string[]; initialQuery: string }) {
  const [gateway, setGateway] = useState(gatewayURLs[0] ?? '');
  const [query, setQuery] = useState(initialQuery);
  const [variables, setVariables] = useState('');
  const [operationName, setOperationName] = useState('');
  const [token, setToken] = useState(useFirstHeldToken());
  const [errors, setErrors] = useState<{ query?: string; variables?: string; token?: string }>({});
  const [result, setResult] = useState<Result | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  if (gatewayURLs.length === 0) return <p className="muted">The API is not deployed on a gateway yet.</p>;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setFailure(null);
    setResult(null);
    const vars = parseVariables(variables);
    const errs = {
      query: query.trim() ? undefined : 'The query is required.',
      variables: vars.error,
      token: token.trim() ? undefined : 'An access token is required: get one on your application’s page.',
    };
    setErrors(errs);
    if (errs.query || errs.variables || errs.token) return;
    const payload: Record<string, unknown> = { query };
    if (vars.variables) payload.variables = vars.variables;
    if (operationName.trim()) payload.operationName = operationName.trim();
    setSending(true);
    const started = performance.now();
    try {
      const res = await fetch(gateway, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token.trim()}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(payload),
        credentials: 'omit',
        mode: 'cors',
      });
      const text = await res.text();
      let parsed: unknown = null;
      let body = text;
      try {
        parsed = JSON.parse(text);
        body = JSON.stringify(parsed, null, 2);
      } catch {
        /* not JSON: shown as it came */
      }
      setResult({ status: res.status, ms: Math.round(performance.now() - started), cost: responseCost(res.headers.get('X-GraphQL-Cost'), parsed), body });
    } catch (err) {
      setFailure(
        `The request did not complete (${(err as Error).message}). The gateway may be unreachable, or the API does not allow calls from this page (CORS).`,
      );
    } finally {
      setSending(false);
    }
  }

  const curl = [`curl -i -X POST '${gateway}'`, `-H 'Authorization: Bearer $TOKEN'`, `-H 'Content-Type: application/json'`, `--data '${JSON.stringify({ query }).replace(/'/g, `'\\''`)}'`].join(' \\\n  ');

  return (
    <form className="form tryit" onSubmit={onSubmit} noValidate aria-label="GraphQL try it">
      {gatewayURLs.length > 1 && (
        <SelectField label="Gateway" value={gateway} onChange={setGateway} options={gatewayURLs.map((g) => ({ value: g, label: g }))} />
      )}
      <TextField label="Query" value={query} onChange={setQuery} error={errors.query} multiline rows={10} monospace required />
      <div className="grid-2">
        <TextField label="Variables (JSON)" value={variables} onChange={setVariables} error={errors.variables} multiline rows={4} monospace placeholder='{"first": 5}' />
        <TextField label="Operation name" value={operationName} onChange={setOperationName} hint="Only when the document holds several operations." />
      </div>
      <TokenField value={token} onChange={setToken} error={errors.token} />
      <p className="mono small url-preview" aria-label="Request URL">
        POST {gateway}
      </p>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={sending}>
          {sending ? 'Running…' : 'Run query'}
        </button>
        <CopyButton value={curl} label="Copy as curl" />
      </div>
      {failure && <ErrorNotice error={failure} title="Request failed" />}
      {result && (
        <section className="response" aria-label="Result">
          <p>
            Status:{' '}
            <output className={`status status-${Math.floor(result.status / 100)}xx`} aria-label="Response status">
              {result.status}
            </output>{' '}
            <span className="muted">in {result.ms} ms</span>
            {result.cost !== null && (
              <>
                {' '}
                · Cost: <output aria-label="Query cost">{result.cost}</output>
              </>
            )}
          </p>
          <pre className="code" tabIndex={0} aria-label="Result body">
            {result.body || '(empty)'}
          </pre>
        </section>
      )}
    </form>
  );
}
