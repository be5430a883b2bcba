import type { Role } from '../../gql/graphql';

export interface SessionUser {
  id: string;
  username: string;
  email?: string | null;
  roles: Role[];
}

export const PUBLISHER_ROLES: Role[] = ['ADMIN', 'PUBLISHER', 'CREATOR'];
export const ADMIN_ROLES: Role[] = ['ADMIN'];
/** Lifecycle changes and subscription blocking need more than CREATOR. */
export const LIFECYCLE_ROLES: Role[] = ['ADMIN', 'PUBLISHER'];

export function hasAnyRole(user: SessionUser | null | undefined, roles: Role[]): boolean {
  return !!user && user.roles.some((r) => roles.includes(r));
}

export const canUsePublisher = (u: SessionUser | null | undefined) => hasAnyRole(u, PUBLISHER_ROLES);
export const canUseAdmin = (u: SessionUser | null | undefined) => hasAnyRole(u, ADMIN_ROLES);
export const canChangeLifecycle = (u: SessionUser | null | undefined) => hasAnyRole(u, LIFECYCLE_ROLES);
/** Deploying and undeploying revisions is a publisher's act, like the lifecycle. */
export const canDeploy = canChangeLifecycle;

/** The portals a user may open, in navigation order. The Developer Portal is open to everyone. */
export function portalsFor(u: SessionUser | null | undefined): Array<{ path: string; label: string }> {
  const out = [{ path: '/devportal', label: 'Developer Portal' }];
  if (canUsePublisher(u)) out.push({ path: '/publisher', label: 'Publisher' });
  if (canUseAdmin(u)) out.push({ path: '/admin', label: 'Admin' });
  return out;
}

/** Only same-app paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | null | undefined, fallback = '/devportal'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}
