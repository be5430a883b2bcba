import { useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { Role } from '../../../gql/graphql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { email as emailCheck, hasErrors, password as passwordCheck, username as usernameCheck } from '../../../lib/validate';
import { useSession } from '../../auth/session';
import { CreateUserMutation, DeleteUserMutation, SetUserRolesMutation, UsersQuery } from '../queries';
import { typenames } from '../../../lib/typenames';

export const ROLES: Role[] = ['ADMIN', 'PUBLISHER', 'CREATOR', 'SUBSCRIBER'];
const ROLE_LABEL: Record<Role, string> = { ADMIN: 'Admin', PUBLISHER: 'Publisher', CREATOR: 'Creator', SUBSCRIBER: 'Subscriber' };

function RoleChecks({ value, onChange, idPrefix, owner }: { value: Role[]; onChange: (r: Role[]) => void; idPrefix: string; owner: string }) {
  return (
    <div className="checks checks-inline" role="group" aria-label={`Roles of ${owner}`}>
      {ROLES.map((r) => (
        <div key={r} className="field-check">
          <input
            id={`${idPrefix}-${r}`}
            type="checkbox"
            checked={value.includes(r)}
            onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))}
          />
          <label htmlFor={`${idPrefix}-${r}`}>{ROLE_LABEL[r]}</label>
        </div>
      ))}
    </div>
  );
}

function UserRow({ user, self }: { user: { id: string; username: string; email?: string | null; roles: Role[]; createdAt: string }; self: boolean }) {
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [rolesResult, setUserRoles] = useMutation(SetUserRolesMutation);
  const [deleteResult, deleteUser] = useMutation(DeleteUserMutation);
  const dirty = [...roles].sort().join() !== [...user.roles].sort().join();
  return (
    <tr>
      <td>
        {user.username}
        {self && <span className="muted"> (you)</span>}
      </td>
      <td>{user.email}</td>
      <td>
        <RoleChecks value={roles} onChange={setRoles} idPrefix={`roles-${user.id}`} owner={user.username} />
        <ErrorNotice error={rolesResult.error} title="Cannot change the roles" />
        {rolesResult.data && !dirty && <span className="muted small" role="status">Roles saved.</span>}
      </td>
      <td>{formatTime(user.createdAt)}</td>
      <td className="actions">
        <button
          type="button"
          className="btn btn-secondary btn-small"
          disabled={!dirty || roles.length === 0 || rolesResult.fetching}
          aria-label={`Save roles of ${user.username}`}
          onClick={() => setUserRoles({ id: user.id, roles })}
        >
          Save roles
        </button>
        {!self && (
          <ConfirmButton
            label="Delete" ariaLabel={`Delete ${user.username}`}
            confirmLabel="Confirm delete"
            question={`Delete the user ${user.username} with their applications, keys and tokens?`}
            onConfirm={() => deleteUser({ id: user.id })}
          />
        )}
        <ErrorNotice error={deleteResult.error} title="Cannot delete the user" />
      </td>
    </tr>
  );
}

export default function Users() {
  useTitle('Users · Admin');
  const { me } = useSession();
  const [{ data, fetching, error }, refetch] = useQuery({ query: UsersQuery, context: typenames('User') });
  const users = data?.users ?? [];
  return (
    <section className="page">
      <div className="page-header">
        <h1>Users and roles</h1>
      </div>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {fetching && !data && <Loading label="Loading users…" />}
      {data && users.length === 0 && <Empty>No users.</Empty>}
      {users.length > 0 && (
        <table className="table" aria-label="Users">
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Email</th>
              <th scope="col">Roles</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <UserRow key={u.id} user={u} self={u.id === me?.id} />
            ))}
          </tbody>
        </table>
      )}
      <CreateUserForm />
    </section>
  );
}

function CreateUserForm() {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Role[]>(['SUBSCRIBER']);
  const [errors, setErrors] = useState<Partial<Record<'username' | 'email' | 'password' | 'roles', string | null>>>({});
  const [created, setCreated] = useState<string | null>(null);
  const [result, createUser] = useMutation(CreateUserMutation);
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setCreated(null);
    const errs = {
      username: usernameCheck(username),
      email: emailCheck(email),
      password: passwordCheck(password),
      roles: roles.length === 0 ? 'Choose at least one role.' : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await createUser({ input: { username: username.trim(), email: email.trim() || null, password, roles } });
    if (res.data) {
      setCreated(res.data.createUser.username);
      setUsername('');
      setEmail('');
      setPassword('');
      setRoles(['SUBSCRIBER']);
    }
  }

  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create user">
      <h2>Create a user</h2>
      <ErrorNotice error={result.error} title="Cannot create the user" />
      {created && <SuccessNotice>Created {created}.</SuccessNotice>}
      <div className="grid-2">
        <TextField label="Username" value={username} onChange={setUsername} error={errors.username} required autoComplete="off" />
        <TextField label="Email" type="email" value={email} onChange={setEmail} error={errors.email} autoComplete="off" />
      </div>
      <TextField label="Password" type="password" value={password} onChange={setPassword} error={errors.password} required autoComplete="new-password" />
      <fieldset className="fieldset">
        <legend>Roles</legend>
        <RoleChecks value={roles} onChange={setRoles} idPrefix="new-user-role" owner="the new user" />
        {errors.roles && <span className="field-error">{errors.roles}</span>}
      </fieldset>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create user'}
        </button>
      </div>
    </form>
  );
}
