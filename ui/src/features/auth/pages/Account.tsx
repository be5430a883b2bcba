import { useTitle } from '../../../components/useTitle';
import { Loading } from '../../../components/States';
import { ChangePasswordForm } from '../components/ChangePasswordForm';
import { useSession } from '../session';

/** The signed-in user's own account: who they are, and a new password. */
export default function Account() {
  useTitle('Your account');
  const { me } = useSession();
  if (!me) return <Loading label="Checking your session…" />;
  return (
    <section className="page">
      <div className="page-header">
        <h1>Your account</h1>
      </div>
      <dl className="facts">
        <div>
          <dt>Username</dt>
          <dd>{me.username}</dd>
        </div>
        <div>
          <dt>Email</dt>
          <dd>{me.email || <span className="muted">none</span>}</dd>
        </div>
        <div>
          <dt>Roles</dt>
          <dd>{me.roles.map((r) => r.charAt(0) + r.slice(1).toLowerCase()).join(', ')}</dd>
        </div>
      </dl>
      <div className="account-form">
        <ChangePasswordForm username={me.username} />
      </div>
    </section>
  );
}
