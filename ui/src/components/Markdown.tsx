import { useMemo } from 'react';
import { renderMarkdown } from '../lib/markdown';

/** Markdown rendered to HTML and sanitized: no script or event handler survives. */
export function Markdown({ source, className }: { source: string | null | undefined; className?: string }) {
  const html = useMemo(() => renderMarkdown(source ?? ''), [source]);
  // eslint-disable-next-line react/no-danger -- sanitized by DOMPurify in renderMarkdown
  return <div className={`markdown ${className ?? ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
