import { useRef, type KeyboardEvent, type ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';

export interface TabDef {
  id: string;
  label: string;
  to: string;
}

/**
 * Route-driven tabs with the ARIA tabs pattern: each tab is a link (so it can be opened
 * directly), arrow keys, Home and End move between them.
 */
export function RouteTabs({
  label,
  tabs,
  current,
  children,
}: {
  label: string;
  tabs: TabDef[];
  current: string;
  children: ReactNode;
}) {
  const navigate = useNavigate();
  const refs = useRef<Array<HTMLAnchorElement | null>>([]);
  const index = Math.max(0, tabs.findIndex((t) => t.id === current));

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    let next = -1;
    if (e.key === 'ArrowRight') next = (index + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (index - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    e.preventDefault();
    navigate(tabs[next].to, { replace: true });
    refs.current[next]?.focus();
  }

  return (
    <div className="tabs">
      <div role="tablist" aria-label={label} className="tablist" onKeyDown={onKeyDown}>
        {tabs.map((t, i) => (
          <Link
            key={t.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            to={t.to}
            replace
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={i === index}
            aria-controls={`panel-${t.id}`}
            tabIndex={i === index ? 0 : -1}
            className={`tab ${i === index ? 'tab-active' : ''}`}
          >
            {t.label}
          </Link>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tabs[index]?.id}`} aria-labelledby={`tab-${tabs[index]?.id}`} className="tabpanel">
        {children}
      </div>
    </div>
  );
}
