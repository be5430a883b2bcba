import { useMemo } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { Markdown } from '../../../components/Markdown';
import { NotFound } from '../../../components/NotFound';
import { ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { parseOpenAPI, type Operation } from '../../../lib/openapi';
import { canUseAdmin } from '../../auth/roles';
import { useSession } from '../../auth/session';
import { Comments } from '../components/Comments';
import { DocumentList } from '../components/DocumentList';
import { GatewayURLs, useDeployedGatewayURLs } from '../components/GatewayURLs';
import { Operations } from '../components/Operations';
import { Rating } from '../components/Rating';
import { SubscribePanel } from '../components/SubscribePanel';
import { TryIt } from '../components/TryIt';
import { GraphQLTryIt, exampleQuery } from '../components/GraphQLTryIt';
import { WebSocketTryIt } from '../components/WebSocketTryIt';
import { SchemaView } from '../components/SchemaView';
import { AIChatTryIt } from '../components/AIChatTryIt';
import { MCPConnect } from '../components/MCPConnect';
import { MethodBadge } from '../../../components/Badge';
import { rootFields } from '../../../lib/sdl';
import { DevApiQuery } from '../queries';
import { typenames } from '../../../lib/typenames';
import { isNotFound } from '../../../lib/errors';

export default function ApiPage() {
  const { id = '' } = useParams();
  const location = useLocation();
  const { me } = useSession();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DevApiQuery,
    variables: { id },
    context: typenames('Comment', 'Document'),
  });
  const api = data?.api;
  useTitle(api ? `${api.name} ${api.version} · Developer Portal` : 'API · Developer Portal');
  const parsed = useMemo(() => parseOpenAPI(api?.openAPI), [api?.openAPI]);
  const deployed = useDeployedGatewayURLs(api);
  // The try-it console works from the definition, or from the resources when it lists none.
  const operations: Operation[] = useMemo(
    () =>
      parsed.operations.length > 0
        ? parsed.operations
        : (api?.type === 'PRODUCT' ? (api?.productResources ?? []) : (api?.resources ?? [])).map((r) => ({
            method: r.method,
            path: r.path,
            tags: [],
            parameters: [],
            deprecated: false,
          })),
    [parsed, api?.resources, api?.productResources, api?.type],
  );

  const fields = useMemo(() => (api?.type === 'GRAPHQL' ? rootFields(api.graphQLSchema ?? '') : []), [api?.type, api?.graphQLSchema]);

  if (!data && fetching) return <Loading label="Loading the API…" />;
  // An object the caller may not see is NOT_FOUND (or null), like one that does not exist.
  if (!data && error && !isNotFound(error)) return <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!api) return <NotFound what="API" />;

  const subscribable = api.lifecycleState === 'PUBLISHED' || api.lifecycleState === 'PROTOTYPED';
  return (
    <article className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/devportal">APIs</Link> <span aria-hidden="true">/</span> <span>{api.name}</span>
      </nav>
      <header className="page-header">
        <h1>
          {api.name} <span className="muted">{api.version}</span>
        </h1>
        <div className="actions">
          {api.type === 'PRODUCT' && <Badge tone="type">Product</Badge>}
          {api.lifecycleState !== 'PUBLISHED' && <Badge>{api.lifecycleState}</Badge>}
          <span className="muted">by {api.provider.username}</span>
        </div>
      </header>
      {api.tags.length > 0 && (
        <ul className="tags" aria-label="Tags">
          {api.tags.map((t) => (
            <li key={t}>
              <Link className="tag" to={`/devportal?tag=${encodeURIComponent(t)}`}>
                {t}
              </Link>
            </li>
          ))}
        </ul>
      )}
      <div className="two-col">
        <div className="stack">
          <section aria-labelledby="about-title">
            <h2 id="about-title">About</h2>
            {api.description ? <Markdown source={api.description} /> : <p className="muted">No description.</p>}
          </section>
          {api.type === 'MCP' && api.mcp ? (
            <>
              <section aria-labelledby="connect-title">
                <h2 id="connect-title">Connect an MCP client</h2>
                <MCPConnect name={api.name} urls={api.mcp.urls.length ? api.mcp.urls : deployed.all.map((u) => `${u.replace(/\/+$/, '')}/mcp`)} />
              </section>
              {api.mcp.mode === 'FROM_API' && (
                <section aria-labelledby="tools-title">
                  <h2 id="tools-title">Tools</h2>
                  <ul className="tool-list" aria-label="Tools">
                    {api.mcp.tools.map((t) => (
                      <li key={t.name}>
                        <strong className="mono">{t.name}</strong>
                        {t.operation && <span className="mono muted"> · {t.operation}</span>}
                        {t.description && <p>{t.description}</p>}
                        {t.scopes.length > 0 && <p className="muted small">Scopes: {t.scopes.join(', ')}</p>}
                      </li>
                    ))}
                  </ul>
                </section>
              )}
            </>
          ) : api.type === 'AI' ? (
            <section aria-labelledby="models-title">
              <h2 id="models-title">Models</h2>
              {api.ai && api.ai.models.length > 0 ? (
                <ul className="tags" aria-label="Models">
                  {api.ai.models.map((m) => (
                    <li key={m} className="tag mono">
                      {m}
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted">Any model the provider offers.</p>
              )}
            </section>
          ) : api.type === 'PRODUCT' ? (
            <section aria-labelledby="resources-title">
              <h2 id="resources-title">Resources</h2>
              <p className="muted small">Each resource is served by its own API under this product's context.</p>
              {api.productResources.length === 0 ? (
                <p className="muted">This product bundles no resources yet.</p>
              ) : (
                <ul className="operation-list" aria-label="Product resources">
                  {api.productResources.map((r) => (
                    <li key={`${r.apiId} ${r.method} ${r.path}`} className="mono">
                      <MethodBadge method={r.method} /> {r.path}
                      <span className="muted small">
                        {' '}
                        · from{' '}
                        {r.api ? (
                          <Link to={`/devportal/apis/${r.api.id}`}>
                            {r.api.name} {r.api.version}
                          </Link>
                        ) : (
                          'an API you cannot see'
                        )}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          ) : api.type === 'GRAPHQL' ? (
            <>
              <section aria-labelledby="resources-title">
                <h2 id="resources-title">Operations</h2>
                <ul className="operation-list" aria-label="Operations">
                  {api.resources.map((r) => (
                    <li key={`${r.method} ${r.path}`} className="mono">
                      <MethodBadge method={r.method} /> {r.path}
                      {r.scopes.length > 0 && <span className="muted small"> · scopes {r.scopes.join(', ')}</span>}
                    </li>
                  ))}
                </ul>
              </section>
              <section aria-labelledby="schema-title">
                <h2 id="schema-title">Schema</h2>
                <SchemaView sdl={api.graphQLSchema ?? ''} />
              </section>
            </>
          ) : (
            <section aria-labelledby="resources-title">
              <h2 id="resources-title">Resources</h2>
              <Operations operations={parsed.operations} error={parsed.error} />
            </section>
          )}
          <section aria-labelledby="docs-title">
            <h2 id="docs-title">Documents</h2>
            <DocumentList documents={api.documents} />
          </section>
          {api.type !== 'MCP' && (
          <section aria-labelledby="tryit-title">
            <h2 id="tryit-title">Try it</h2>
            {api.type === 'AI' && api.ai ? (
              <AIChatTryIt key={`${api.id} ${deployed.all.join(' ')}`} gatewayURLs={deployed.all} vendor={api.ai.vendor} models={api.ai.models} />
            ) : api.type === 'GRAPHQL' ? (
              <GraphQLTryIt key={`${api.id} ${deployed.all.join(' ')}`} gatewayURLs={deployed.all} initialQuery={exampleQuery(fields)} />
            ) : api.type === 'WS' ? (
              <WebSocketTryIt key={`${api.id} ${deployed.all.join(' ')}`} gatewayURLs={deployed.all} />
            ) : (
              <TryIt key={`${api.id} ${deployed.all.join(' ')}`} gatewayURLs={deployed.all} operations={operations} />
            )}
          </section>
          )}
          <section aria-labelledby="comments-title">
            <h2 id="comments-title">Comments</h2>
            <Comments apiId={api.id} comments={api.comments} me={me?.username ?? null} isAdmin={canUseAdmin(me)} />
          </section>
        </div>
        <aside className="stack side">
          <section aria-labelledby="endpoints-title" className="card">
            <h2 id="endpoints-title">Gateway URLs</h2>
            <GatewayURLs deployed={deployed} />
          </section>
          <section aria-labelledby="subscribe-title" className="card">
            <h2 id="subscribe-title">Subscribe</h2>
            {me ? (
              <SubscribePanel apiId={api.id} tiers={api.subscriptionTiers} subscribable={subscribable} />
            ) : (
              <p>
                <Link to={`/devportal/signin?next=${encodeURIComponent(location.pathname)}`}>Sign in</Link> to subscribe. Tiers:{' '}
                {api.subscriptionTiers.join(', ')}.
              </p>
            )}
          </section>
          <section aria-labelledby="rating-title" className="card">
            <h2 id="rating-title">Rating</h2>
            <Rating api={api} signedIn={!!me} />
          </section>
        </aside>
      </div>
    </article>
  );
}
