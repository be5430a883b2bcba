import { Route, Routes } from 'react-router';
import { PortalLayout } from '../components/PortalLayout';
import { NotFound } from '../components/NotFound';
import { RequireRole } from '../components/RequireRole';
import { useSession } from '../features/auth/session';
import Catalog from '../features/devportal/pages/Catalog';
import ApiPage from '../features/devportal/pages/ApiPage';
import Applications from '../features/applications/pages/Applications';
import ApplicationDetail from '../features/applications/pages/ApplicationDetail';
import Account from '../features/auth/pages/Account';
import MyRequests from '../features/governance/pages/MyRequests';

const ANY_ROLE = ['ADMIN', 'PUBLISHER', 'CREATOR', 'SUBSCRIBER'] as const;

export default function DevPortal() {
  const { me } = useSession();
  const links = [{ to: '/devportal', label: 'APIs', end: true }];
  if (me) links.push({ to: '/devportal/applications', label: 'Applications', end: false });
  if (me) links.push({ to: '/devportal/requests', label: 'My requests', end: false });
  return (
    <Routes>
      <Route element={<PortalLayout name="Developer Portal" links={links} />}>
        <Route index element={<Catalog />} />
        <Route path="apis/:id" element={<ApiPage />} />
        <Route
          path="applications"
          element={
            <RequireRole roles={[...ANY_ROLE]} portal="applications">
              <Applications />
            </RequireRole>
          }
        />
        <Route
          path="applications/:id"
          element={
            <RequireRole roles={[...ANY_ROLE]} portal="applications">
              <ApplicationDetail />
            </RequireRole>
          }
        />
        <Route
          path="requests"
          element={
            <RequireRole roles={[...ANY_ROLE]} portal="requests page">
              <MyRequests />
            </RequireRole>
          }
        />
        <Route
          path="account"
          element={
            <RequireRole roles={[...ANY_ROLE]} portal="account page">
              <Account />
            </RequireRole>
          }
        />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
