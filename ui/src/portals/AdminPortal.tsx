import { Navigate, Route, Routes } from 'react-router';
import { PortalLayout } from '../components/PortalLayout';
import { NotFound } from '../components/NotFound';
import Users from '../features/admin/pages/Users';
import Policies from '../features/admin/pages/Policies';
import BlockingConditions from '../features/admin/pages/BlockingConditions';
import Runtimes from '../features/admin/pages/Runtimes';
import Environments from '../features/admin/pages/Environments';
import Tasks from '../features/governance/pages/Tasks';
import WorkflowSettings from '../features/governance/pages/WorkflowSettings';
import Groups from '../features/governance/pages/Groups';

export default function AdminPortal() {
  return (
    <Routes>
      <Route
        element={
          <PortalLayout
            name="Admin"
            links={[
              { to: '/admin/users', label: 'Users and roles' },
              { to: '/admin/tasks', label: 'Tasks' },
              { to: '/admin/workflows', label: 'Workflow settings' },
              { to: '/admin/groups', label: 'Groups' },
              { to: '/admin/policies', label: 'Throttling policies' },
              { to: '/admin/blocking', label: 'Blocking conditions' },
              { to: '/admin/environments', label: 'Gateway environments' },
              { to: '/admin/runtimes', label: 'Gateways and traffic managers' },
            ]}
          />
        }
      >
        <Route index element={<Navigate to="/admin/users" replace />} />
        <Route path="users" element={<Users />} />
        <Route path="tasks" element={<Tasks />} />
        <Route path="workflows" element={<WorkflowSettings />} />
        <Route path="groups" element={<Groups />} />
        <Route path="policies" element={<Policies />} />
        <Route path="policies/:kind" element={<Policies />} />
        <Route path="blocking" element={<BlockingConditions />} />
        <Route path="environments" element={<Environments />} />
        <Route path="runtimes" element={<Runtimes />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
