import { Markdown } from '../../../components/Markdown';
import { Empty } from '../../../components/States';
import { formatBytes } from '../../../lib/files';

interface Doc {
  id: string;
  name: string;
  summary?: string | null;
  source: string;
  content?: string | null;
  url?: string | null;
  size?: number | null;
}

export function DocumentList({ documents }: { documents: Doc[] }) {
  if (documents.length === 0) return <Empty>No documents.</Empty>;
  return (
    <ul className="documents" aria-label="Documents">
      {documents.map((d) => (
        <li key={d.id} className="document">
          {d.source === 'INLINE' ? (
            <details>
              <summary>
                {d.name}
                {d.summary && <span className="muted"> — {d.summary}</span>}
              </summary>
              <Markdown source={d.content} />
            </details>
          ) : (
            <p>
              <a href={d.url ?? '#'} target="_blank" rel="noopener noreferrer" download={d.source === 'FILE' ? '' : undefined}>
                {d.name}
              </a>
              {d.source === 'FILE' && d.size != null && <span className="muted"> ({formatBytes(d.size)})</span>}
              {d.summary && <span className="muted"> — {d.summary}</span>}
            </p>
          )}
        </li>
      ))}
    </ul>
  );
}
