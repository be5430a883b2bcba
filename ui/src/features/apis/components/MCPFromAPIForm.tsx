import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useClient, useMutation, useQuery } from 'urql';
import { MethodBadge } from '../../../components/Badge';
import { SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice, Loading } from '../../../components/States';
import { getFragmentData } from '../../../gql';
import type { McpToolFieldsFragment } from '../../../gql/graphql';
import { errorField, errorMessage } from '../../../lib/errors';
import { contextPath, version as versionCheck } from '../../../lib/validate';
import { CreateMCPServerFromAPIMutation, MCPSourceApiQuery, MCPSourceApisQuery, MCPToolFields, MCPToolPreviewQuery } from '../queries';
import { ToolList } from './MCPTab';

/** "GET /pets/{petId}": how createMCPServerFromAPI and mcpToolPreview name an operation. */
export const operationKey = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/**
 * Creates an MCP server whose tools are operations of an HTTP API: pick the API, tick the
 * operations, choose the server's context and version, preview the tools, create.
 */
export function MCPFromAPIForm({ initialSourceId }: { initialSourceId?: string }) {
  const navigate = useNavigate();
  const client = useClient();
  const [sourceId, setSourceId] = useState(initialSourceId ?? '');
  const [{ data: list }] = useQuery({ query: MCPSourceApisQuery });
  const sources = useMemo(() => (list?.apis.edges ?? []).map((e) => e.node).filter((a) => a.type === 'HTTP'), [list]);
  const [{ data: srcData, fetching: srcFetching, error: srcError }] = useQuery({
    query: MCPSourceApiQuery,
    variables: { id: sourceId },
    pause: !sourceId,
  });
  const source = sourceId ? srcData?.api : undefined;
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [context, setContext] = useState('');
  const [version, setVersion] = useState('1.0.0');
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [preview, setPreview] = useState<McpToolFieldsFragment[] | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [result, create] = useMutation(CreateMCPServerFromAPIMutation);
  const formRef = useRef<HTMLFormElement>(null);

  // A newly chosen API: every operation ticked, a context and version derived from it.
  useEffect(() => {
    if (!source) return;
    setPicked(new Set(source.resources.map(operationKey)));
    setContext(`${source.context.replace(/\/+$/, '')}-mcp`);
    setVersion(source.version);
    setPreview(null);
  }, [source]);

  const operations = source ? source.resources.map(operationKey).filter((k) => picked.has(k)) : [];

  function toggle(k: string, on: boolean) {
    setPicked((p) => {
      const n = new Set(p);
      if (on) n.add(k);
      else n.delete(k);
      return n;
    });
    setPreview(null);
  }

  function check(): boolean {
    const errs = {
      source: sourceId ? null : 'Choose the API whose operations become tools.',
      operations: source && operations.length === 0 ? 'Choose at least one operation.' : null,
      context: contextPath(context),
      version: versionCheck(version),
    };
    setErrors(errs);
    return !Object.values(errs).some(Boolean);
  }

  async function onPreview() {
    if (!sourceId || operations.length === 0) {
      check();
      return;
    }
    setPreviewing(true);
    setPreviewError(null);
    try {
      const res = await client.query(MCPToolPreviewQuery, { apiId: sourceId, operations }, { requestPolicy: 'network-only' }).toPromise();
      if (res.data) setPreview(res.data.mcpToolPreview.map((t) => getFragmentData(MCPToolFields, t)));
      else setPreviewError(errorMessage(res.error) || 'No answer.');
    } finally {
      setPreviewing(false);
    }
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!check()) return focusFirstInvalid(formRef.current);
    const res = await create({ apiId: sourceId, context: context.trim(), version: version.trim(), operations });
    if (res.data) navigate(`/publisher/apis/${res.data.createMCPServerFromAPI.id}/mcp`);
    else focusFirstInvalid(formRef.current);
  }

  const serverField = errorField(result.error)?.replace(/^input\./, '');
  const fieldError = (k: string) => errors[k] ?? (serverField === k ? errorMessage(result.error) : null);

  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create MCP server from an API">
      {!(serverField === 'context' || serverField === 'version') && <ErrorNotice error={result.error} title="Cannot create the MCP server" />}
      <SelectField
        label="Source API"
        value={sourceId}
        onChange={(v) => setSourceId(v)}
        error={fieldError('source')}
        required
        options={[{ value: '', label: 'Choose an HTTP API…' }, ...sources.map((a) => ({ value: a.id, label: `${a.name} ${a.version} (${a.context})` }))]}
        hint="Each operation chosen becomes a tool; a tool call passes the same checks (token, scopes, throttling) as a call of the operation."
      />
      {sourceId && srcFetching && !source && <Loading label="Loading the API’s operations…" />}
      <ErrorNotice error={srcError} />
      {source && (
        <fieldset className="fieldset" aria-describedby={fieldError('operations') ? 'mcp-ops-error' : undefined}>
          <legend>Operations ({operations.length} of {source.resources.length})</legend>
          {source.resources.length === 0 ? (
            <p className="muted">The API has no resources.</p>
          ) : (
            <>
              <div className="actions">
                <button type="button" className="btn btn-secondary btn-small" onClick={() => setPicked(new Set(source.resources.map(operationKey)))}>
                  Select all
                </button>
                <button type="button" className="btn btn-secondary btn-small" onClick={() => setPicked(new Set())}>
                  Select none
                </button>
              </div>
              <ul className="check-list" aria-label="Operations">
                {source.resources.map((r) => {
                  const k = operationKey(r);
                  return (
                    <li key={k}>
                      <label className="mono">
                        <input type="checkbox" checked={picked.has(k)} onChange={(e) => toggle(k, e.target.checked)} aria-label={k} />{' '}
                        <MethodBadge method={r.method} /> {r.path}
                        {r.scopes.length > 0 && <span className="muted small"> · scopes {r.scopes.join(', ')}</span>}
                      </label>
                    </li>
                  );
                })}
              </ul>
            </>
          )}
          {fieldError('operations') && (
            <span className="field-error" id="mcp-ops-error">
              {fieldError('operations')}
            </span>
          )}
        </fieldset>
      )}
      <div className="grid-2">
        <TextField label="Context" value={context} onChange={setContext} error={fieldError('context')} required monospace placeholder="/pets-mcp" hint="MCP clients connect at {gateway}{context}/{version}/mcp." />
        <TextField label="Version" value={version} onChange={setVersion} error={fieldError('version')} required />
      </div>
      <section aria-label="Tool preview" className="stack">
        <div className="actions">
          <button type="button" className="btn btn-secondary" onClick={onPreview} disabled={previewing || !source}>
            {previewing ? 'Previewing…' : 'Preview tools'}
          </button>
        </div>
        {previewError && <ErrorNotice error={previewError} title="Cannot preview the tools" />}
        {preview && (
          <>
            <h3 className="label">Tools ({preview.length})</h3>
            <ToolList tools={preview} />
          </>
        )}
      </section>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create MCP server'}
        </button>
      </div>
    </form>
  );
}
