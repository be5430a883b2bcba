import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { CopyButton } from '../../../components/CopyButton';
import { ErrorNotice } from '../../../components/States';
import { buildRequestUrl, methodHasBody, pathParamNames, type Operation } from '../../../lib/openapi';
import { useHeldTokens } from '../../../lib/tokens';

interface Response {
  status: number;
  statusText: string;
  ms: number;
  headers: Array<[string, string]>;
  body: string;
}

function pretty(body: string, contentType: string | null): string {
  if (contentType?.includes('json') || /^\s*[[{]/.test(body)) {
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      /* not JSON after all */
    }
  }
  return body;
}

/** Shell-quotes a value for the curl line shown beside the console. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The try-it console: picks an operation, fills its parameters and body, and calls it
 * through the gateway with the access token. The gateway must allow this origin (CORS).
 */
export function TryIt({ gatewayURLs, operations }: { gatewayURLs: string[]; operations: Operation[] }) {
  const held = useHeldTokens();
  const [gateway, setGateway] = useState(gatewayURLs[0] ?? '');
  const [opKey, setOpKey] = useState(operations[0] ? `${operations[0].method} ${operations[0].path}` : '');
  const op = operations.find((o) => `${o.method} ${o.path}` === opKey);
  const [path, setPath] = useState(op?.path ?? '/');
  const [params, setParams] = useState<Record<string, string>>({});
  const [body, setBody] = useState(op?.requestBody?.example ?? '');
  const [contentType, setContentType] = useState('application/json');
  const [token, setToken] = useState(held[0]?.accessToken ?? '');
  const [response, setResponse] = useState<Response | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [tokenError, setTokenError] = useState<string | null>(null);

  const method = op?.method ?? 'GET';
  const pathNames = pathParamNames(path);
  const queryParams = op?.parameters.filter((p) => p.in === 'query') ?? [];
  const headerParams = op?.parameters.filter((p) => p.in === 'header') ?? [];
  const withBody = methodHasBody(method);

  const url = gateway
    ? buildRequestUrl(
        gateway,
        path,
        Object.fromEntries(pathNames.map((n) => [n, params[`path:${n}`] ?? ''])),
        Object.fromEntries(queryParams.map((p) => [p.name, params[`query:${p.name}`] ?? ''])),
      )
    : '';

  function chooseOperation(key: string) {
    setOpKey(key);
    const next = operations.find((o) => `${o.method} ${o.path}` === key);
    setPath(next?.path ?? '/');
    setParams({});
    setBody(next?.requestBody?.example ?? '');
    setResponse(null);
    setFailure(null);
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setFailure(null);
    setResponse(null);
    const missing = pathNames.filter((n) => !(params[`path:${n}`] ?? '').trim());
    if (missing.length) {
      setFailure(`Fill in the path parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`);
      return;
    }
    if (!token.trim()) {
      setTokenError('An access token is required: get one on your application’s page.');
      return;
    }
    setTokenError(null);
    const headers: Record<string, string> = { Authorization: `Bearer ${token.trim()}` };
    for (const h of headerParams) {
      const v = params[`header:${h.name}`];
      if (v) headers[h.name] = v;
    }
    if (withBody && body) headers['Content-Type'] = contentType;
    setSending(true);
    const started = performance.now();
    try {
      const res = await fetch(url, {
        method: method === 'ANY' ? 'GET' : method,
        headers,
        body: withBody && body ? body : undefined,
        credentials: 'omit',
        mode: 'cors',
      });
      const text = await res.text();
      const hs: Array<[string, string]> = [];
      res.headers.forEach((v, k) => hs.push([k, v]));
      setResponse({
        status: res.status,
        statusText: res.statusText,
        ms: Math.round(performance.now() - started),
        headers: hs,
        body: pretty(text, res.headers.get('content-type')),
      });
    } catch (err) {
      setFailure(
        `The request did not complete (${(err as Error).message}). The gateway may be unreachable, or the API does not allow calls from this page (CORS).`,
      );
    } finally {
      setSending(false);
    }
  }

  if (gatewayURLs.length === 0) return <p className="muted">The API is not deployed on a gateway yet.</p>;
  if (operations.length === 0) return <p className="muted">The API has no operations to try.</p>;

  const curl = [
    `curl -i -X ${method === 'ANY' ? 'GET' : method} ${sq(url)}`,
    `-H 'Authorization: Bearer $TOKEN'`,
    ...(withBody && body ? [`-H ${sq(`Content-Type: ${contentType}`)}`, `--data ${sq(body)}`] : []),
  ].join(' \\\n  ');

  return (
    <form className="form tryit" onSubmit={onSubmit} noValidate aria-label="Try it">
      {gatewayURLs.length > 1 && (
        <SelectField label="Gateway" value={gateway} onChange={setGateway} options={gatewayURLs.map((g) => ({ value: g, label: g }))} />
      )}
      <SelectField
        label="Operation"
        value={opKey}
        onChange={chooseOperation}
        options={operations.map((o) => ({
          value: `${o.method} ${o.path}`,
          label: `${o.method} ${o.path}${o.summary ? ` — ${o.summary}` : ''}`,
        }))}
      />
      <TextField label="Request path" value={path} onChange={setPath} monospace hint="Relative to the API; {name} is filled from the parameters below." />
      {pathNames.map((n) => (
        <TextField
          key={`path:${n}`}
          label={`Path parameter ${n}`}
          value={params[`path:${n}`] ?? ''}
          onChange={(v) => setParams((p) => ({ ...p, [`path:${n}`]: v }))}
          required
        />
      ))}
      {queryParams.map((q) => (
        <TextField
          key={`query:${q.name}`}
          label={`Query parameter ${q.name}`}
          value={params[`query:${q.name}`] ?? ''}
          onChange={(v) => setParams((p) => ({ ...p, [`query:${q.name}`]: v }))}
          required={q.required}
          hint={q.description}
        />
      ))}
      {headerParams.map((h) => (
        <TextField
          key={`header:${h.name}`}
          label={`Header ${h.name}`}
          value={params[`header:${h.name}`] ?? ''}
          onChange={(v) => setParams((p) => ({ ...p, [`header:${h.name}`]: v }))}
          required={h.required}
        />
      ))}
      {withBody && (
        <>
          <TextField label="Content type" value={contentType} onChange={setContentType} />
          <TextField label="Request body" value={body} onChange={setBody} multiline rows={6} monospace />
        </>
      )}
      {held.length > 0 && (
        <SelectField
          label="Use a token from"
          value=""
          onChange={(v) => v && setToken(v)}
          options={[
            { value: '', label: 'Choose an application…' },
            ...held.map((t) => ({ value: t.accessToken, label: `${t.applicationName} (${t.keyType.toLowerCase()})` })),
          ]}
        />
      )}
      <TextField label="Access token" value={token} onChange={setToken} error={tokenError} monospace required hint="Bearer token from POST /oauth2/token." />
      <p className="mono small url-preview" aria-label="Request URL">
        {method} {url}
      </p>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={sending}>
          {sending ? 'Sending…' : 'Send request'}
        </button>
        <CopyButton value={curl} label="Copy as curl" />
      </div>
      {failure && <ErrorNotice error={failure} title="Request failed" />}
      {response && (
        <section className="response" aria-label="Response">
          <p>
            Status:{' '}
            <output className={`status status-${Math.floor(response.status / 100)}xx`} aria-label="Response status">
              {response.status} {response.statusText}
            </output>{' '}
            <span className="muted">in {response.ms} ms</span>
          </p>
          <details>
            <summary>Response headers ({response.headers.length})</summary>
            <table className="table table-compact" aria-label="Response headers">
              <tbody>
                {response.headers.map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row" className="mono">
                      {k}
                    </th>
                    <td className="mono">{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted small">A browser shows only the headers the gateway exposes to this page.</p>
          </details>
          <section aria-label="Response body">
            <h3 className="label">Response body</h3>
            <pre className="code" tabIndex={0}>
              {response.body || '(empty)'}
            </pre>
          </section>
        </section>
      )}
    </form>
  );
}
