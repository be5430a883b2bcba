import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation } from 'urql';
import { CopyButton } from '../../../components/CopyButton';
import { ListEditor } from '../../../components/ListEditor';
import { ErrorNotice } from '../../../components/States';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { McpToolFieldsFragment } from '../../../gql/graphql';
import { cleanList } from '../../../lib/ai';
import { ApiMCPFields, MCPToolFields, UpdateApiAIMutation } from '../queries';

/** A JSON Schema shown indented (as sent when it is not JSON). */
function prettySchema(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}

/** Tools with their name, description, operation and scopes; the input schema collapsed. */
export function ToolList({ tools }: { tools: McpToolFieldsFragment[] }) {
  if (tools.length === 0) return <p className="muted">No tools.</p>;
  return (
    <ul className="tool-list" aria-label="Tools">
      {tools.map((t) => (
        <li key={t.name} aria-label={`Tool ${t.name}`}>
          <p>
            <strong className="mono">{t.name}</strong>
            {t.operation && <span className="mono muted"> · {t.operation}</span>}
          </p>
          {t.description && <p>{t.description}</p>}
          <p className="small">
            Scopes: {t.scopes.length ? <span className="mono">{t.scopes.join(', ')}</span> : <span className="muted">none</span>}
          </p>
          <details>
            <summary>Input schema</summary>
            <pre className="code" tabIndex={0}>
              {prettySchema(t.inputSchema)}
            </pre>
          </details>
        </li>
      ))}
    </ul>
  );
}

/** Where MCP clients connect, each with a copy button. */
export function MCPUrls({ urls }: { urls: string[] }) {
  if (urls.length === 0) return <p className="muted">Not deployed on a gateway yet: deploy a revision to get its URL.</p>;
  return (
    <ul className="plain-list" aria-label="MCP URLs">
      {urls.map((u) => (
        <li key={u}>
          <code>{u}</code> <CopyButton value={u} />
        </li>
      ))}
    </ul>
  );
}

export function MCPTab({ api: apiRef }: { api: FragmentType<typeof ApiMCPFields> }) {
  const api = getFragmentData(ApiMCPFields, apiRef);
  const mcp = api.mcp;
  if (!mcp) return <p className="muted">This API is not an MCP server.</p>;
  const tools = mcp.tools.map((t) => getFragmentData(MCPToolFields, t));
  return (
    <div className="stack">
      <section aria-labelledby="mcp-urls-title">
        <h2 id="mcp-urls-title">MCP URLs</h2>
        <p className="muted small">MCP clients connect here over Streamable HTTP, with a bearer token of a subscribed application.</p>
        <MCPUrls urls={mcp.urls} />
      </section>
      {mcp.mode === 'FROM_API' ? (
        <section aria-labelledby="mcp-tools-title">
          <h2 id="mcp-tools-title">Tools ({tools.length})</h2>
          {mcp.sourceAPI && (
            <p>
              Made from <Link to={`/publisher/apis/${mcp.sourceAPI.id}`}>{mcp.sourceAPI.name} {mcp.sourceAPI.version}</Link>: each tool call is a call of its
              operation.
            </p>
          )}
          <ToolList tools={tools} />
        </section>
      ) : (
        <HiddenTools apiId={api.id} initial={mcp.hiddenTools} />
      )}
    </div>
  );
}

function HiddenTools({ apiId, initial }: { apiId: string; initial: string[] }) {
  const [values, setValues] = useState(initial);
  const [saved, setSaved] = useState(false);
  const [result, update] = useMutation(UpdateApiAIMutation);
  async function save() {
    setSaved(false);
    const res = await update({ id: apiId, input: { mcp: { hiddenTools: cleanList(values) } } });
    if (res.data) setSaved(true);
  }
  return (
    <section aria-labelledby="mcp-hidden-title" className="stack">
      <h2 id="mcp-hidden-title">Proxied MCP server</h2>
      <p className="muted">The gateway fronts the upstream MCP server at the API’s endpoint.</p>
      <ErrorNotice error={result.error} title="Cannot save the hidden tools" />
      <ListEditor
        label="Hidden tools"
        itemLabel="Hidden tool"
        values={values}
        onChange={(v) => {
          setValues(v);
          setSaved(false);
        }}
        monospace
        hint="Upstream tools the gateway leaves out of tools/list and refuses in tools/call."
      />
      <div className="actions">
        <button type="button" className="btn btn-primary" onClick={save} disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save hidden tools'}
        </button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </section>
  );
}
