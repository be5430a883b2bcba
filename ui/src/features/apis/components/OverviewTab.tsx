import { useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiOverviewFieldsFragment } from '../../../gql/graphql';
import type { EndpointType } from '../../../gql/graphql';
import { CheckboxField, SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { hasErrors, httpUrlList, integer, name as nameCheck, splitLines, splitList } from '../../../lib/validate';
import { AdvancedPoliciesQuery, ApiOverviewFields, DeleteApiMutation, UpdateApiMutation } from '../queries';

type Errors = Partial<Record<'name' | 'production' | 'sandbox' | 'timeout' | 'origins', string | null>>;

export function OverviewTab(props: { api: FragmentType<typeof ApiOverviewFields> }) {
  const api = getFragmentData(ApiOverviewFields, props.api);
  // Re-initialise the form when the saved API changes; the notice outlives it.
  const [saved, setSaved] = useState(false);
  return <OverviewForm key={api.updatedAt} api={api} saved={saved} setSaved={setSaved} />;
}

function OverviewForm({ api, saved, setSaved }: { api: ApiOverviewFieldsFragment; saved: boolean; setSaved: (v: boolean) => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState(api.name);
  const [description, setDescription] = useState(api.description ?? '');
  const [tags, setTags] = useState(api.tags.join(', '));
  const [endpointType, setEndpointType] = useState<EndpointType>(api.endpoints.type);
  const [production, setProduction] = useState(api.endpoints.production.join('\n'));
  const [sandbox, setSandbox] = useState(api.endpoints.sandbox.join('\n'));
  const [timeout, setTimeoutMs] = useState(String(api.endpoints.timeoutMs));
  const [policy, setPolicy] = useState(api.throttlingPolicy ?? '');
  const [isDefault, setIsDefault] = useState(api.isDefaultVersion);
  const [corsEnabled, setCorsEnabled] = useState(api.cors.enabled);
  const [origins, setOrigins] = useState(api.cors.allowOrigins.join(', '));
  const [methods, setMethods] = useState(api.cors.allowMethods.join(', '));
  const [headers, setHeaders] = useState(api.cors.allowHeaders.join(', '));
  const [credentials, setCredentials] = useState(api.cors.allowCredentials);
  const [errors, setErrors] = useState<Errors>({});
  const [result, update] = useMutation(UpdateApiMutation);
  const [deleteResult, deleteApi] = useMutation(DeleteApiMutation);
  const [{ data: policies }] = useQuery({ query: AdvancedPoliciesQuery });
  const formRef = useRef<HTMLFormElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const prod = splitLines(production);
    const sand = splitLines(sandbox);
    const errs: Errors = {
      name: nameCheck('Name')(name),
      production: httpUrlList(prod, 1, 'Production endpoints'),
      sandbox: sand.length ? httpUrlList(sand, 0, 'Sandbox endpoints') : null,
      timeout: integer('Timeout', { min: 1, max: 600000 })(timeout),
      origins: corsEnabled && splitList(origins).length === 0 ? 'List at least one origin, or * for any.' : null,
    };
    if (!errs.production && endpointType !== 'SINGLE' && prod.length < 2) {
      errs.production = 'Load-balanced and failover endpoints need at least two production URLs.';
    }
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await update({
      id: api.id,
      input: {
        name: name.trim(),
        description: description.trim(),
        tags: splitList(tags),
        endpoints: { type: endpointType, production: prod, sandbox: sand, timeoutMs: Number(timeout) },
        throttlingPolicy: policy || null,
        isDefaultVersion: isDefault,
        cors: {
          enabled: corsEnabled,
          allowOrigins: splitList(origins),
          allowMethods: splitList(methods),
          allowHeaders: splitList(headers),
          allowCredentials: credentials,
        },
      },
    });
    if (res.data) setSaved(true);
  }

  return (
    <div className="stack">
      <dl className="facts">
        <div>
          <dt>Context</dt>
          <dd className="mono">{api.context}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{api.version}</dd>
        </div>
        <div>
          <dt>Provider</dt>
          <dd>{api.provider.username}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatTime(api.createdAt)}</dd>
        </div>
        <div>
          <dt>Gateway URLs</dt>
          <dd>
            {api.gatewayURLs.length === 0 ? (
              <span className="muted">Not deployed</span>
            ) : (
              api.gatewayURLs.map((u) => (
                <div key={u} className="mono">
                  {u}
                </div>
              ))
            )}
          </dd>
        </div>
      </dl>
      <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label="API overview">
        <ErrorNotice error={result.error} title="Cannot save" />
        {saved && <SuccessNotice>Saved.</SuccessNotice>}
        <TextField label="Name" value={name} onChange={setName} error={errors.name} required />
        <TextField label="Description" value={description} onChange={setDescription} multiline rows={6} hint="Markdown." />
        <TextField label="Tags" value={tags} onChange={setTags} hint="Comma-separated." />
        <fieldset className="fieldset">
          <legend>Endpoints</legend>
          <SelectField
            label="Endpoint type"
            value={endpointType}
            onChange={(v) => setEndpointType(v as EndpointType)}
            options={[
              { value: 'SINGLE', label: 'Single' },
              { value: 'LOAD_BALANCED', label: 'Load balanced' },
              { value: 'FAILOVER', label: 'Failover' },
            ]}
          />
          <TextField
            label="Production endpoints"
            value={production}
            onChange={setProduction}
            error={errors.production}
            multiline
            rows={3}
            monospace
            required
            hint="One http(s) URL a line."
          />
          <TextField
            label="Sandbox endpoints"
            value={sandbox}
            onChange={setSandbox}
            error={errors.sandbox}
            multiline
            rows={2}
            monospace
            hint="Optional; one URL a line."
          />
          <TextField label="Timeout (ms)" value={timeout} onChange={setTimeoutMs} error={errors.timeout} type="number" />
        </fieldset>
        <SelectField
          label="API throttling policy"
          value={policy}
          onChange={setPolicy}
          options={[
            { value: '', label: 'None' },
            ...(policies?.throttlingPolicies ?? []).map((p) => ({ value: p.name, label: p.name })),
            ...(policy && !policies?.throttlingPolicies.some((p) => p.name === policy) ? [{ value: policy, label: policy }] : []),
          ]}
          hint="An advanced policy applied to every resource."
        />
        <CheckboxField
          label="Default version"
          checked={isDefault}
          onChange={setIsDefault}
          hint="Route the context without a version to this version."
        />
        <fieldset className="fieldset">
          <legend>CORS</legend>
          <CheckboxField label="Enable CORS" checked={corsEnabled} onChange={setCorsEnabled} hint="Needed for calls from browsers, such as the try-it console." />
          {corsEnabled && (
            <>
              <TextField label="Allowed origins" value={origins} onChange={setOrigins} error={errors.origins} hint="Comma-separated; * for any." />
              <TextField label="Allowed methods" value={methods} onChange={setMethods} hint="Comma-separated, such as GET, POST." />
              <TextField label="Allowed headers" value={headers} onChange={setHeaders} hint="Comma-separated, such as Authorization, Content-Type." />
              <CheckboxField label="Allow credentials" checked={credentials} onChange={setCredentials} />
            </>
          )}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={result.fetching}>
            {result.fetching ? 'Saving…' : 'Save overview'}
          </button>
        </div>
      </form>
      <section className="danger-zone" aria-labelledby="danger-title">
        <h2 id="danger-title">Delete this API</h2>
        <ErrorNotice error={deleteResult.error} title="Cannot delete" />
        <p className="muted">Deleting removes the API, its documents and its subscriptions.</p>
        <ConfirmButton
          label="Delete API"
          question={`Delete ${api.name} ${api.version}?`}
          onConfirm={async () => {
            const res = await deleteApi({ id: api.id });
            if (res.data?.deleteAPI) navigate('/publisher');
          }}
        />
      </section>
    </div>
  );
}
