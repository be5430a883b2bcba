import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { NotFound } from '../../../components/NotFound';
import { ErrorNotice, Loading } from '../../../components/States';
import { RouteTabs } from '../../../components/Tabs';
import { useTitle } from '../../../components/useTitle';
import { ApiDetailQuery } from '../queries';
import { OverviewTab } from '../components/OverviewTab';
import { ResourcesTab } from '../components/ResourcesTab';
import { PoliciesTab } from '../components/PoliciesTab';
import { TiersTab } from '../components/TiersTab';
import { LifecycleTab } from '../components/LifecycleTab';
import { VersionsTab } from '../components/VersionsTab';
import { DocumentsTab } from '../components/DocumentsTab';
import { SubscriptionsTab } from '../components/SubscriptionsTab';
import { UsageTab } from '../components/UsageTab';
import { DeploymentsTab } from '../components/DeploymentsTab';
import { SchemaTab } from '../components/SchemaTab';
import { AISettingsTab } from '../components/AISettingsTab';
import { MCPTab } from '../components/MCPTab';
import { isNotFound } from '../../../lib/errors';
import { AccessTab } from '../../governance/components/AccessTab';
import { ProductResourcesTab } from '../../governance/components/ProductResourcesTab';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'schema', label: 'Schema' },
  { id: 'ai', label: 'AI settings' },
  { id: 'mcp', label: 'MCP tools' },
  { id: 'resources', label: 'Resources' },
  { id: 'product', label: 'Product resources' },
  { id: 'policies', label: 'Policies' },
  { id: 'tiers', label: 'Subscription tiers' },
  { id: 'access', label: 'Visibility and access' },
  { id: 'lifecycle', label: 'Lifecycle' },
  { id: 'deployments', label: 'Deployments' },
  { id: 'versions', label: 'Versions' },
  { id: 'documents', label: 'Documents' },
  { id: 'subscriptions', label: 'Subscriptions' },
  { id: 'usage', label: 'Usage' },
] as const;

export default function ApiDetail() {
  const { id = '', tab = 'overview' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ApiDetailQuery, variables: { id } });
  const api = data?.api;
  useTitle(api ? `${api.name} ${api.version} · Publisher` : 'API · Publisher');

  if (!data && fetching) return <Loading label="Loading the API…" />;
  // An object the caller may not see is NOT_FOUND (or null), like one that does not exist.
  if (!data && error && !isNotFound(error)) return <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!api) return <NotFound what="API" />;

  // GraphQL APIs have a schema tab; SSE APIs the same tab for their event counting.
  // AI APIs have their settings tab, MCP servers their tools; products list the resources
  // they bundle instead of their own.
  const product = api.type === 'PRODUCT';
  const shown = (id: string) =>
    id === 'schema'
      ? api.type === 'GRAPHQL' || api.type === 'SSE'
      : id === 'ai'
        ? api.type === 'AI'
        : id === 'mcp'
          ? api.type === 'MCP'
          : id === 'resources'
            ? !product
            : id === 'product'
              ? product
              : true;
  const tabs = TABS.filter((t) => shown(t.id)).map((t) => ({
    ...t,
    label: t.id === 'schema' && api.type === 'SSE' ? 'Events' : t.label,
    to: `/publisher/apis/${api.id}/${t.id}`,
  }));
  return (
    <section className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/publisher">APIs</Link> <span aria-hidden="true">/</span> <span>{api.name}</span>
      </nav>
      <div className="page-header">
        <h1>
          {api.name} <span className="muted">{api.version}</span>
        </h1>
        <div className="actions">
          {api.type !== 'HTTP' && <Badge tone="type">{api.type}</Badge>}
          <Badge>{api.lifecycleState}</Badge>
          <span className="mono muted">{api.context}</span>
          {api.type === 'HTTP' && (
            <Link className="btn btn-secondary btn-small" to={`/publisher/apis/new?type=MCP&from=${encodeURIComponent(api.id)}`}>
              Create MCP server
            </Link>
          )}
          {['PUBLISHED', 'PROTOTYPED', 'DEPRECATED'].includes(api.lifecycleState) && (
            <Link to={`/devportal/apis/${api.id}`}>View in the Developer Portal</Link>
          )}
        </div>
      </div>
      {error && <ErrorNotice error={error} />}
      <RouteTabs label="API sections" tabs={tabs} current={tab}>
        {tab === 'overview' && <OverviewTab api={api} />}
        {tab === 'schema' && <SchemaTab api={api} />}
        {tab === 'ai' && <AISettingsTab api={api} />}
        {tab === 'mcp' && <MCPTab api={api} />}
        {tab === 'resources' && <ResourcesTab api={api} />}
        {tab === 'policies' && <PoliciesTab api={api} resources={api} />}
        {tab === 'product' && product && <ProductResourcesTab api={api} />}
        {tab === 'tiers' && <TiersTab api={api} />}
        {tab === 'access' && <AccessTab api={api} />}
        {tab === 'lifecycle' && <LifecycleTab api={api} />}
        {tab === 'deployments' && <DeploymentsTab apiId={api.id} />}
        {tab === 'versions' && <VersionsTab apiId={api.id} name={api.name} context={api.context} version={api.version} />}
        {tab === 'documents' && <DocumentsTab api={api} />}
        {tab === 'subscriptions' && <SubscriptionsTab apiId={api.id} />}
        {tab === 'usage' && <UsageTab apiId={api.id} ai={api.type === 'AI'} />}
        {!TABS.some((t) => t.id === tab) && <p>Unknown section.</p>}
      </RouteTabs>
    </section>
  );
}
