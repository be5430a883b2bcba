import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { hasErrors, name as nameCheck } from '../../../lib/validate';
import { ApplicationPoliciesQuery, CreateApplicationMutation, DeleteApplicationMutation, MyApplicationsQuery } from '../queries';
import { typenames } from '../../../lib/typenames';
import { Badge } from '../../../components/Badge';

export default function Applications() {
  useTitle('Applications · Developer Portal');
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MyApplicationsQuery,
    context: typenames('Application'),
  });
  const [deleteResult, deleteApplication] = useMutation(DeleteApplicationMutation);
  const apps = data?.applications ?? [];
  return (
    <section className="page">
      <div className="page-header">
        <h1>Applications</h1>
      </div>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      <ErrorNotice error={deleteResult.error} title="Cannot delete the application" />
      {fetching && !data && <Loading label="Loading your applications…" />}
      {data && apps.length === 0 && <Empty>You have no applications yet. Create one below to subscribe to APIs.</Empty>}
      {apps.length > 0 && (
        <table className="table" aria-label="Your applications">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Policy</th>
              <th scope="col">Subscriptions</th>
              <th scope="col">Keys</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {apps.map((a) => (
              <tr key={a.id}>
                <td>
                  <Link to={`/devportal/applications/${a.id}`}>{a.name}</Link>
                </td>
                <td>
                  <Badge>{a.status}</Badge>
                  {a.status === 'REJECTED' && a.statusReason && <span className="muted small"> {a.statusReason}</span>}
                </td>
                <td>{a.throttlingPolicy}</td>
                <td>{a.subscriptions.length}</td>
                <td>{a.keys.map((k) => k.keyType.toLowerCase()).join(', ') || <span className="muted">none</span>}</td>
                <td>
                  <ConfirmButton
                    label="Delete" ariaLabel={`Delete ${a.name}`}
                    confirmLabel="Confirm delete"
                    question={`Delete ${a.name} with its keys and subscriptions?`}
                    onConfirm={() => deleteApplication({ id: a.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateApplicationForm />
    </section>
  );
}

function CreateApplicationForm() {
  const navigate = useNavigate();
  const [{ data: policies, error: policyError }] = useQuery({ query: ApplicationPoliciesQuery });
  const [name, setName] = useState('');
  const [policy, setPolicy] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<{ name?: string | null; policy?: string | null }>({});
  const [result, create] = useMutation(CreateApplicationMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const options = policies?.throttlingPolicies ?? [];
  const chosen = policy || (options.find((p) => p.name === 'Unlimited') ?? options[0])?.name || '';

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs = { name: nameCheck('Application name')(name), policy: chosen ? null : 'Choose a policy.' };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await create({ input: { name: name.trim(), throttlingPolicy: chosen, description: description.trim() || null } });
    if (res.data) navigate(`/devportal/applications/${res.data.createApplication.id}`);
  }

  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create application">
      <h2>Create an application</h2>
      <ErrorNotice error={result.error} title="Cannot create the application" />
      <ErrorNotice error={policyError} title="Cannot load the policies" />
      <TextField label="Application name" value={name} onChange={setName} error={errors.name} required />
      <SelectField
        label="Application policy"
        value={chosen}
        onChange={setPolicy}
        error={errors.policy}
        required
        options={options.map((p) => ({
          value: p.name,
          label: p.requestCount == null ? `${p.name} (unlimited)` : `${p.name} (${p.requestCount} requests / ${p.unitTimeSeconds} s)`,
        }))}
        hint="Limits the requests of all the application's subscriptions together."
      />
      <TextField label="Description" value={description} onChange={setDescription} multiline rows={2} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create application'}
        </button>
      </div>
    </form>
  );
}
