import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { TextField } from '../../../components/Field';
import { ErrorNotice, Loading } from '../../../components/States';
import { version as versionCheck } from '../../../lib/validate';
import { ApiVersionsQuery, CreateNewVersionMutation } from '../queries';

export function VersionsTab({ apiId, name, context, version }: { apiId: string; name: string; context: string; version: string }) {
  const navigate = useNavigate();
  const [{ data, fetching, error }] = useQuery({ query: ApiVersionsQuery, variables: { query: name } });
  const [newVersion, setNewVersion] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [result, createVersion] = useMutation(CreateNewVersionMutation);
  const versions = (data?.apis.edges ?? []).map((e) => e.node).filter((a) => a.context === context);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    let err = versionCheck(newVersion);
    if (!err && versions.some((v) => v.version === newVersion.trim())) err = `Version ${newVersion.trim()} already exists.`;
    setFieldError(err);
    if (err) return;
    const res = await createVersion({ apiId, version: newVersion.trim() });
    if (res.data) navigate(`/publisher/apis/${res.data.createNewVersion.id}`);
  }

  return (
    <div className="stack">
      <h2>Versions of {name}</h2>
      {fetching && !data && <Loading />}
      <ErrorNotice error={error} />
      {versions.length > 0 && (
        <table className="table" aria-label="Versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Default</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id}>
                <td>{v.id === apiId ? <strong>{v.version} (this version)</strong> : <Link to={`/publisher/apis/${v.id}`}>{v.version}</Link>}</td>
                <td>
                  <Badge>{v.lifecycleState}</Badge>
                </td>
                <td>{v.isDefaultVersion ? 'Yes' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="form form-inline" onSubmit={onSubmit} noValidate aria-label="Create new version">
        <h3>Create a new version</h3>
        <p className="muted">Copies version {version} (resources, endpoints, tiers, documents) in the CREATED state.</p>
        <ErrorNotice error={result.error} title="Cannot create the version" />
        <TextField label="New version" value={newVersion} onChange={setNewVersion} error={fieldError} required placeholder="2.0.0" />
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create version'}
        </button>
      </form>
    </div>
  );
}
