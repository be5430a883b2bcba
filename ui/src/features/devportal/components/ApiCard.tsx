import { Link } from 'react-router';
import { getFragmentData, type FragmentType } from '../../../gql';
import { Badge } from '../../../components/Badge';
import { CatalogCardFields } from '../queries';

/** The first sentence-ish of a Markdown description, as plain text. */
export function excerpt(md: string | null | undefined, max = 160): string {
  if (!md) return '';
  const text = md
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]*>/g, ' ')
    .replace(/[#>*_`~|-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

export function Stars({ value, label }: { value: number | null | undefined; label?: string }) {
  const v = value ?? 0;
  const full = Math.round(v);
  return (
    <span className="stars" aria-label={label ?? (value == null ? 'Not rated' : `Rated ${v.toFixed(1)} of 5`)} role="img">
      {[1, 2, 3, 4, 5].map((i) => (
        <span key={i} aria-hidden="true" className={i <= full ? 'star star-on' : 'star'}>
          ★
        </span>
      ))}
    </span>
  );
}

export function ApiCard(props: { api: FragmentType<typeof CatalogCardFields>; onTag: (t: string) => void }) {
  const api = getFragmentData(CatalogCardFields, props.api);
  return (
    <article className="card api-card" aria-labelledby={`api-${api.id}-title`}>
      <h2 id={`api-${api.id}-title`} className="api-card-title">
        <Link to={`/devportal/apis/${api.id}`}>{api.name}</Link> <span className="muted">{api.version}</span>
        {api.type === 'PRODUCT' && (
          <>
            {' '}
            <Badge tone="type">Product</Badge>
          </>
        )}
      </h2>
      <p className="mono muted small">{api.context}</p>
      <p className="api-card-desc">{excerpt(api.description) || <span className="muted">No description.</span>}</p>
      <div className="api-card-meta">
        <Stars value={api.rating.average} />
        <span className="muted small">({api.rating.count})</span>
        {api.lifecycleState !== 'PUBLISHED' && <Badge>{api.lifecycleState}</Badge>}
        <span className="muted small">by {api.provider.username}</span>
      </div>
      {api.tags.length > 0 && (
        <ul className="tags" aria-label={`Tags of ${api.name}`}>
          {api.tags.map((t) => (
            <li key={t}>
              <button type="button" className="tag" onClick={() => props.onTag(t)} aria-label={`Show APIs tagged ${t}`}>
                {t}
              </button>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
