import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Shell } from './components/Shell';
import { RequireRole } from './components/RequireRole';
import { NotFound } from './components/NotFound';
import { Loading } from './components/States';
import { ADMIN_ROLES, PUBLISHER_ROLES } from './features/auth/roles';
import SignIn from './features/auth/pages/SignIn';
import SignUp from './features/auth/pages/SignUp';

// Each portal is its own chunk, loaded on first visit.
const loadDevPortal = () => import('./portals/DevPortal');
const loadPublisher = () => import('./portals/PublisherPortal');
const loadAdmin = () => import('./portals/AdminPortal');
const DevPortal = lazy(loadDevPortal);
const PublisherPortal = lazy(loadPublisher);
const AdminPortal = lazy(loadAdmin);

/** Starts fetching the portal of the first URL while the session (`me`) is being checked. */
export function preloadPortal(pathname: string): void {
  const load = pathname.startsWith('/publisher') ? loadPublisher : pathname.startsWith('/admin') ? loadAdmin : pathname.startsWith('/devportal') || pathname === '/' ? loadDevPortal : null;
  load?.().catch(() => {
    /* React.lazy retries and shows the error */
  });
}

export function App() {
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<Navigate to="/devportal" replace />} />
        {/* Every route lives under a portal prefix: the server serves index.html only there. */}
        <Route path="devportal/signin" element={<SignIn />} />
        <Route path="devportal/signup" element={<SignUp />} />
        <Route
          path="devportal/*"
          element={
            <Suspense fallback={<Loading label="Loading the Developer Portal…" />}>
              <DevPortal />
            </Suspense>
          }
        />
        <Route
          path="publisher/*"
          element={
            <RequireRole roles={PUBLISHER_ROLES} portal="Publisher">
              <Suspense fallback={<Loading label="Loading the Publisher…" />}>
                <PublisherPortal />
              </Suspense>
            </RequireRole>
          }
        />
        <Route
          path="admin/*"
          element={
            <RequireRole roles={ADMIN_ROLES} portal="Admin portal">
              <Suspense fallback={<Loading label="Loading the Admin portal…" />}>
                <AdminPortal />
              </Suspense>
            </RequireRole>
          }
        />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
