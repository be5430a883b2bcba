import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { getFragmentData } from '../../../gql';
import { Badge } from '../../../components/Badge';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { typenames } from '../../../lib/typenames';
import { hasErrors, httpUrl, maxLength, splitLines } from '../../../lib/validate';
import { CreateEnvironmentMutation, DeleteEnvironmentMutation, EnvironmentFields, EnvironmentsQuery } from '../queries';

/** The environment every installation has; the server refuses to delete it. */
export const DEFAULT_ENVIRONMENT = 'Default';

/**
 * An environment name as gateways name it in TURNPIKE_GATEWAY_ENVIRONMENTS (a comma-separated
 * list): a letter or digit, then letters, digits, - or _, 64 at most.
 */
export function environmentName(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Name is required.';
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(v)) return 'Name may contain only letters, digits, - and _, and starts with a letter or digit.';
  if (v.length > 64) return 'Name must be at most 64 characters.';
  return null;
}

/** At most this many gateway URLs per environment, as the server takes them. */
export const MAX_GATEWAY_URLS = 10;

/**
 * The gateway URLs of an environment: none (gateways consumers are not shown) up to
 * MAX_GATEWAY_URLS http(s) base URLs, without query, fragment or credentials.
 */
export function gatewayUrls(urls: readonly string[]): string | null {
  if (urls.length > MAX_GATEWAY_URLS) return `Gateway URLs: at most ${MAX_GATEWAY_URLS} (there are ${urls.length}).`;
  for (const u of urls) {
    const err = httpUrl(u);
    if (err) return `Gateway URLs: ${u}: ${err}`;
    const parsed = new URL(u);
    if (parsed.search || parsed.hash || parsed.username || parsed.password) {
      return `Gateway URLs: ${u}: give the base URL only, without query, fragment or credentials.`;
    }
  }
  return null;
}

const CHANGES_ENVIRONMENTS = typenames('Environment');

export default function Environments() {
  useTitle('Gateway environments · Admin');
  const [{ data, fetching, error }, refetch] = useQuery({ query: EnvironmentsQuery, context: CHANGES_ENVIRONMENTS });
  const [deleteResult, deleteEnvironment] = useMutation(DeleteEnvironmentMutation);
  const [deleted, setDeleted] = useState<string | null>(null);
  // Gateways report in their heartbeats: poll while the page is open.
  useEffect(() => {
    const t = window.setInterval(() => refetch({ requestPolicy: 'network-only' }), 10_000);
    return () => window.clearInterval(t);
  }, [refetch]);
  const environments = (data?.environments ?? []).map((e) => getFragmentData(EnvironmentFields, e));

  return (
    <section className="page">
      <div className="page-header">
        <h1>Gateway environments</h1>
        <button type="button" className="btn btn-secondary" onClick={() => refetch({ requestPolicy: 'network-only' })} disabled={fetching}>
          Refresh
        </button>
      </div>
      <p className="muted">
        A gateway serves the revisions deployed to the environments it joins (TURNPIKE_GATEWAY_ENVIRONMENTS); consumers are shown the
        gateway URLs of each environment an API is deployed to.
      </p>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      <ErrorNotice error={deleteResult.error} title="Cannot delete the environment" />
      <SuccessNotice>{deleted && `Deleted ${deleted}.`}</SuccessNotice>
      {fetching && !data && <Loading label="Loading environments…" />}
      {data && environments.length === 0 && <Empty>No environments.</Empty>}
      {environments.length > 0 && (
        <table className="table" aria-label="Environments">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Display name</th>
              <th scope="col">Description</th>
              <th scope="col">Gateway URLs</th>
              <th scope="col">Gateways</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {environments.map((env) => (
              <tr key={env.name}>
                <td className="mono name-cell">{env.name}</td>
                <td>{env.displayName}</td>
                <td>{env.description || <span className="muted">—</span>}</td>
                <td>
                  {env.gatewayURLs.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    <ul className="plain">
                      {env.gatewayURLs.map((u) => (
                        <li key={u} className="mono">
                          {u}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  {env.gateways.length === 0 ? (
                    <span className="muted">No gateway has reported.</span>
                  ) : (
                    <ul className="plain" aria-label={`Gateways of ${env.name}`}>
                      {env.gateways.map((g) => (
                        <li key={g.id}>
                          <span className="mono">{g.id}</span>{' '}
                          <Badge tone={g.healthy ? 'healthy' : 'unhealthy'}>{g.healthy ? 'Healthy' : 'Stale'}</Badge>{' '}
                          <span className="muted small">
                            last seen {formatTime(g.lastSeen)}
                            {g.address ? ` · ${g.address}` : ''}
                          </span>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td className="actions">
                  {env.name === DEFAULT_ENVIRONMENT ? (
                    <span className="muted small">Always kept</span>
                  ) : (
                    <ConfirmButton
                      label="Delete"
                      ariaLabel={`Delete ${env.name}`}
                      confirmLabel="Confirm delete"
                      question={`Delete the environment ${env.name}?`}
                      onConfirm={async () => {
                        setDeleted(null);
                        const res = await deleteEnvironment({ name: env.name }, CHANGES_ENVIRONMENTS);
                        if (!res.error) setDeleted(env.name);
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateEnvironmentForm />
    </section>
  );
}

type Errors = Partial<Record<'name' | 'displayName' | 'description' | 'gatewayURLs', string | null>>;

function CreateEnvironmentForm() {
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [description, setDescription] = useState('');
  const [urls, setUrls] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [created, setCreated] = useState<string | null>(null);
  const [result, create] = useMutation(CreateEnvironmentMutation);
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setCreated(null);
    const gatewayURLs = splitLines(urls);
    const errs: Errors = {
      name: environmentName(name),
      displayName: maxLength('Display name', 100)(displayName),
      description: maxLength('Description', 10_000)(description),
      gatewayURLs: gatewayUrls(gatewayURLs),
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await create({
      input: { name: name.trim(), displayName: displayName.trim() || null, description: description.trim() || null, gatewayURLs },
    });
    if (res.data) {
      setCreated(res.data.createEnvironment.name);
      setName('');
      setDisplayName('');
      setDescription('');
      setUrls('');
    }
  }

  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create environment">
      <h2>Create an environment</h2>
      <ErrorNotice error={result.error} title="Cannot create the environment" />
      {created && <SuccessNotice>Created {created}.</SuccessNotice>}
      <div className="grid-2">
        <TextField
          label="Environment name"
          value={name}
          onChange={setName}
          error={errors.name}
          required
          autoComplete="off"
          hint="Gateways join it by this name, such as internal."
        />
        <TextField label="Display name" value={displayName} onChange={setDisplayName} error={errors.displayName} hint="Defaults to the name." />
      </div>
      <TextField label="Description" value={description} onChange={setDescription} error={errors.description} />
      <TextField
        label="Gateway URLs"
        value={urls}
        onChange={setUrls}
        error={errors.gatewayURLs}
        multiline
        rows={3}
        monospace
        hint="One a line: where consumers call the APIs deployed here, such as https://internal.gw.example.com. None for gateways consumers are not shown."
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create environment'}
        </button>
      </div>
    </form>
  );
}
