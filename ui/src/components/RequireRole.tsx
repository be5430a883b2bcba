import type { ReactNode } from 'react';
import { Link, Navigate, useLocation } from 'react-router';
import type { Role } from '../gql/graphql';
import { hasAnyRole } from '../features/auth/roles';
import { useSession } from '../features/auth/session';
import { Loading } from './States';

/** Sends anonymous visitors to sign-in and tells signed-in users without the role. */
export function RequireRole({ roles, portal, children }: { roles: Role[]; portal: string; children: ReactNode }) {
  const { me, loading } = useSession();
  const location = useLocation();
  if (loading) return <Loading label="Checking your session…" />;
  if (!me) return <Navigate to={`/devportal/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (!hasAnyRole(me, roles)) {
    return (
      <section className="page">
        <h1>No access to the {portal}</h1>
        <p>
          Your account ({me.username}) does not have a role that may use the {portal}. Ask an administrator, or go to
          the <Link to="/devportal">Developer Portal</Link>.
        </p>
      </section>
    );
  }
  return <>{children}</>;
}
