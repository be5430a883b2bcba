import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { useClient, useQuery } from 'urql';
import type { FragmentType } from '../../../gql';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { errorMessage } from '../../../lib/errors';
import { ApiCard } from '../components/ApiCard';
import { CatalogCardFields, CatalogQuery } from '../queries';

const PAGE = 24;
/** The states a consumer can discover; the Publisher shows the others. */
export const VISIBLE_STATES = new Set(['PUBLISHED', 'PROTOTYPED', 'DEPRECATED']);

type Node = { id: string; lifecycleState: string; tags: string[] } & FragmentType<typeof CatalogCardFields>;

export default function Catalog() {
  useTitle('APIs · Developer Portal');
  const [params, setParams] = useSearchParams();
  const query = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const [draft, setDraft] = useState(query);
  useEffect(() => setDraft(query), [query]);
  const client = useClient();
  const search = tag || query;
  const [{ data, fetching, error }, refetch] = useQuery({
    query: CatalogQuery,
    variables: { query: search || null, first: PAGE, after: null },
  });
  const [more, setMore] = useState<{ nodes: Node[]; endCursor: string | null; hasNext: boolean } | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  useEffect(() => setMore(null), [search]);

  const nodes: Node[] = [...(data?.apis.edges.map((e) => e.node) ?? []), ...(more?.nodes ?? [])];
  const visible = nodes.filter((n) => VISIBLE_STATES.has(n.lifecycleState) && (!tag || n.tags.includes(tag)));
  const hasNext = more ? more.hasNext : !!data?.apis.pageInfo.hasNextPage;
  const endCursor = more ? more.endCursor : (data?.apis.pageInfo.endCursor ?? null);
  const allTags = useMemo(() => [...new Set(nodes.flatMap((n) => n.tags))].sort(), [nodes]);

  async function loadMore() {
    setMoreError(null);
    const res = await client.query(CatalogQuery, { query: search || null, first: PAGE, after: endCursor }).toPromise();
    if (!res.data) {
      setMoreError(errorMessage(res.error) || 'No data.');
      return;
    }
    const page = res.data.apis;
    setMore((prev) => ({
      nodes: [...(prev?.nodes ?? []), ...page.edges.map((e) => e.node)],
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
      </div>
      <form role="search" className="search" onSubmit={onSearch}>
        <label htmlFor="catalog-search" className="sr-only">
          Search APIs
        </label>
        <input
          id="catalog-search"
          type="search"
          placeholder="Search by name, tag or description"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit" className="btn btn-secondary">
          Search
        </button>
      </form>
      {tag && (
        <p className="filter">
          Tagged <span className="tag tag-static">{tag}</span>{' '}
          <button type="button" className="btn btn-link" onClick={() => setParams({})}>
            Clear tag filter
          </button>
        </p>
      )}
      {!tag && allTags.length > 0 && (
        <nav aria-label="Tags" className="tag-cloud">
          <ul className="tags">
            {allTags.map((t) => (
              <li key={t}>
                <button type="button" className="tag" onClick={() => setParams({ tag: t })}>
                  {t}
                </button>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {!data && fetching && <Loading label="Loading APIs…" />}
      {data && visible.length === 0 && !hasNext && (
        <Empty>{search ? 'No published API matches.' : 'No API has been published yet.'}</Empty>
      )}
      {visible.length > 0 && (
        <div className="card-grid">
          {visible.map((n) => (
            <ApiCard key={n.id} api={n} onTag={(t) => setParams({ tag: t })} />
          ))}
        </div>
      )}
      {moreError && <ErrorNotice error={moreError} />}
      {hasNext && (
        <button type="button" className="btn btn-secondary" onClick={loadMore}>
          Load more APIs
        </button>
      )}
    </section>
  );
}
