import { useState } from 'react';
import { SelectField } from '../../../components/Field';
import { CopyButton } from '../../../components/CopyButton';
import { mcpClientConfig } from '../../../lib/ai';
import { useHeldTokens } from '../../../lib/tokens';

/**
 * How an agent connects to an MCP server: its URL(s) and a ready-to-paste client
 * configuration, with the token of an application chosen here (tokens obtained in this tab).
 */
export function MCPConnect({ name, urls }: { name: string; urls: string[] }) {
  const held = useHeldTokens();
  const [url, setUrl] = useState(urls[0] ?? '');
  const [token, setToken] = useState('');
  if (urls.length === 0) return <p className="muted">The MCP server is not deployed on a gateway yet.</p>;
  const config = mcpClientConfig(name, url || urls[0], token);
  return (
    <div className="stack">
      <ul className="plain-list" aria-label="MCP URLs">
        {urls.map((u) => (
          <li key={u}>
            <code>{u}</code> <CopyButton value={u} />
          </li>
        ))}
      </ul>
      {urls.length > 1 && <SelectField label="URL in the configuration" value={url} onChange={setUrl} options={urls.map((u) => ({ value: u, label: u }))} />}
      <SelectField
        label="Token in the configuration"
        value={token}
        onChange={setToken}
        options={[
          { value: '', label: held.length ? 'A placeholder (<token>)' : 'A placeholder (<token>): get a token on your application’s page' },
          ...held.map((t) => ({ value: t.accessToken, label: `${t.applicationName} (${t.keyType.toLowerCase()})` })),
        ]}
        hint="A bearer token of an application subscribed to this server; tools needing scopes show only when the token has them."
      />
      <section aria-label="MCP client configuration">
        <h3 className="label">Client configuration</h3>
        <pre className="code" tabIndex={0}>
          {config}
        </pre>
        <CopyButton value={config} label="Copy configuration" />
      </section>
    </div>
  );
}
