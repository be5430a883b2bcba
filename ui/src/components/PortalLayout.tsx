import type { ReactNode } from 'react';
import { NavLink, Outlet } from 'react-router';

/** A portal's own navigation beside its pages. */
export function PortalLayout({
  name,
  links,
  children,
}: {
  name: string;
  links: Array<{ to: string; label: string; end?: boolean }>;
  children?: ReactNode;
}) {
  return (
    <div className="portal">
      <nav aria-label={`${name} navigation`} className="sidenav">
        <p className="sidenav-title">{name}</p>
        <ul>
          {links.map((l) => (
            <li key={l.to}>
              <NavLink to={l.to} end={l.end} className="sidenav-link">
                {l.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="portal-content">{children ?? <Outlet />}</div>
    </div>
  );
}
