import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useClient, useQuery } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { errorMessage } from '../../../lib/errors';
import { formatTime } from '../../../lib/files';
import { ApiRowFields, PublisherApisQuery } from '../queries';
import { typenames } from '../../../lib/typenames';

const PAGE = 25;

type Edge = { cursor: string; node: { id: string } & FragmentType<typeof ApiRowFields> };

function ApiRow(props: { api: FragmentType<typeof ApiRowFields> }) {
  const api = getFragmentData(ApiRowFields, props.api);
  return (
    <tr>
      <td>
        <Link to={`/publisher/apis/${api.id}`}>{api.name}</Link>
      </td>
      <td className="mono">{api.context}</td>
      <td>{api.version}</td>
      <td>
        <Badge>{api.lifecycleState}</Badge>
      </td>
      <td>{api.provider.username}</td>
      <td>{formatTime(api.updatedAt)}</td>
    </tr>
  );
}

export default function ApiList() {
  useTitle('APIs · Publisher');
  const [params, setParams] = useSearchParams();
  const query = params.get('q') ?? '';
  const [draft, setDraft] = useState(query);
  const client = useClient();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: PublisherApisQuery,
    variables: { query: query || null, first: PAGE, after: null },
    context: typenames('API'),
  });
  // Further pages, fetched with the cursor of the last one and appended.
  const [more, setMore] = useState<{ edges: Edge[]; endCursor: string | null; hasNext: boolean } | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => {
    setMore(null);
    setMoreError(null);
  }, [query, data]);
  useEffect(() => setDraft(query), [query]);

  const first = data?.apis;
  const edges: Edge[] = [...(first?.edges ?? []), ...(more?.edges ?? [])];
  const hasNext = more ? more.hasNext : !!first?.pageInfo.hasNextPage;
  const endCursor = more ? more.endCursor : (first?.pageInfo.endCursor ?? null);

  async function loadMore() {
    setLoadingMore(true);
    setMoreError(null);
    const res = await client
      .query(PublisherApisQuery, { query: query || null, first: PAGE, after: endCursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoadingMore(false);
    if (res.error || !res.data) {
      setMoreError(errorMessage(res.error) || 'No data.');
      return;
    }
    const page = res.data.apis;
    setMore((prev) => ({
      edges: [...(prev?.edges ?? []), ...page.edges],
      endCursor: page.pageInfo.endCursor ?? null,
      hasNext: page.pageInfo.hasNextPage,
    }));
  }

  function onSearch(e: FormEvent) {
    e.preventDefault();
    const q = draft.trim();
    setParams(q ? { q } : {});
  }

  return (
    <section className="page">
      <div className="page-header">
        <h1>APIs</h1>
        <div className="actions">
          <Link className="btn btn-primary" to="/publisher/apis/new">
            Create API
          </Link>
          <Link className="btn btn-secondary" to="/publisher/apis/import">
            Import OpenAPI
          </Link>
        </div>
      </div>
      <form role="search" className="search" onSubmit={onSearch}>
        <label htmlFor="api-search" className="sr-only">
          Search APIs
        </label>
        <input
          id="api-search"
          type="search"
          placeholder="Search by name, context, tag or description"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit" className="btn btn-secondary">
          Search
        </button>
      </form>
      {error && <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />}
      {!first && fetching && <Loading label="Loading APIs…" />}
      {first && (
        <>
          <p className="muted" aria-live="polite" data-testid="api-count">
            {first.totalCount === 1 ? '1 API' : `${first.totalCount} APIs`}
            {query ? ` matching “${query}”` : ''}
          </p>
          {edges.length === 0 ? (
            <Empty>
              {query ? (
                'No API matches this search.'
              ) : (
                <>
                  No APIs yet. <Link to="/publisher/apis/new">Create one</Link> or{' '}
                  <Link to="/publisher/apis/import">import an OpenAPI document</Link>.
                </>
              )}
            </Empty>
          ) : (
            <table className="table" aria-label="APIs">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Context</th>
                  <th scope="col">Version</th>
                  <th scope="col">State</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {edges.map((e) => (
                  <ApiRow key={e.node.id} api={e.node} />
                ))}
              </tbody>
            </table>
          )}
          {moreError && <ErrorNotice error={moreError} />}
          {hasNext && (
            <button type="button" className="btn btn-secondary" onClick={loadMore} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load more APIs'}
            </button>
          )}
        </>
      )}
    </section>
  );
}
