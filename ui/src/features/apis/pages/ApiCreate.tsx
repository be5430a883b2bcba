import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { contextPath, hasErrors, httpUrl, name as nameCheck, splitList, version as versionCheck } from '../../../lib/validate';
import { TierPicker } from '../components/TierPicker';
import { CreateApiMutation } from '../queries';

type Errors = Partial<Record<'name' | 'context' | 'version' | 'endpoint' | 'sandbox' | 'tiers', string | null>>;

export default function ApiCreate() {
  useTitle('Create API · Publisher');
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [context, setContext] = useState('');
  const [version, setVersion] = useState('1.0.0');
  const [description, setDescription] = useState('');
  const [endpoint, setEndpoint] = useState('');
  const [sandbox, setSandbox] = useState('');
  const [tags, setTags] = useState('');
  const [tiers, setTiers] = useState<string[]>(['Unlimited']);
  const [errors, setErrors] = useState<Errors>({});
  const [result, create] = useMutation(CreateApiMutation);
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs: Errors = {
      name: nameCheck('Name')(name),
      context: contextPath(context),
      version: versionCheck(version),
      endpoint: httpUrl(endpoint),
      sandbox: sandbox.trim() ? httpUrl(sandbox) : null,
      tiers: tiers.length === 0 ? 'Choose at least one tier.' : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await create({
      input: {
        name: name.trim(),
        context: context.trim(),
        version: version.trim(),
        description: description.trim() || null,
        endpoints: { type: 'SINGLE', production: [endpoint.trim()], sandbox: sandbox.trim() ? [sandbox.trim()] : [] },
        subscriptionTiers: tiers,
        tags: splitList(tags),
      },
    });
    if (res.data) navigate(`/publisher/apis/${res.data.createAPI.id}`);
  }

  return (
    <section className="page">
      <div className="page-header">
        <h1>Create API</h1>
        <Link to="/publisher/apis/import">Import an OpenAPI document instead</Link>
      </div>
      <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create API">
        <ErrorNotice error={result.error} title="Cannot create the API" />
        <div className="grid-2">
          <TextField label="Name" value={name} onChange={setName} error={errors.name} required />
          <TextField label="Version" value={version} onChange={setVersion} error={errors.version} required hint="Such as 1.0.0." />
        </div>
        <TextField
          label="Context"
          value={context}
          onChange={setContext}
          error={errors.context}
          required
          placeholder="/pets"
          hint="The path under which the gateway serves the API; starts with /."
          monospace
        />
        <TextField
          label="Endpoint URL"
          type="url"
          value={endpoint}
          onChange={setEndpoint}
          error={errors.endpoint}
          required
          placeholder="https://backend.example.com/v1"
          hint="The production backend."
        />
        <TextField
          label="Sandbox endpoint URL"
          type="url"
          value={sandbox}
          onChange={setSandbox}
          error={errors.sandbox}
          hint="Optional: the backend for sandbox keys."
        />
        <TextField label="Description" value={description} onChange={setDescription} multiline hint="Markdown." />
        <TextField label="Tags" value={tags} onChange={setTags} hint="Comma-separated." />
        <TierPicker value={tiers} onChange={setTiers} error={errors.tiers} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={result.fetching}>
            {result.fetching ? 'Creating…' : 'Create API'}
          </button>
          <Link className="btn btn-secondary" to="/publisher">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
