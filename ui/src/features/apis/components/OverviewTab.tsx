import { useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiOverviewFieldsFragment } from '../../../gql/graphql';
import type { EndpointType } from '../../../gql/graphql';
import { CheckboxField, SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { errorField, errorMessage } from '../../../lib/errors';
import { formatTime } from '../../../lib/files';
import { hasErrors, httpUrlList, integer, name as nameCheck, splitLines, splitList } from '../../../lib/validate';
import { AdvancedPoliciesQuery, ApiOverviewFields, DeleteApiMutation, UpdateApiMutation } from '../queries';
import { MockPreview } from './MockPreview';

type ErrorKey =
  | 'name'
  | 'production'
  | 'sandbox'
  | 'timeout'
  | 'origins'
  | 'retries'
  | 'failureThreshold'
  | 'openSeconds'
  | 'ttl'
  | 'maxBody';
type Errors = Partial<Record<ErrorKey, string | null>>;

/** The form field a server error's input field belongs to (input.endpoints.retries -> retries). */
const SERVER_FIELDS: Array<[string, ErrorKey]> = [
  ['input.name', 'name'],
  ['input.endpoints.production', 'production'],
  ['input.endpoints.sandbox', 'sandbox'],
  ['input.endpoints.timeoutMs', 'timeout'],
  ['input.endpoints.retries', 'retries'],
  ['input.endpoints.circuitBreaker.failureThreshold', 'failureThreshold'],
  ['input.endpoints.circuitBreaker.openSeconds', 'openSeconds'],
  ['input.responseCache.ttlSeconds', 'ttl'],
  ['input.responseCache.maxBodyBytes', 'maxBody'],
  ['input.cors.allowOrigins', 'origins'],
];

export function serverFieldKey(field: string | undefined): ErrorKey | undefined {
  if (!field) return undefined;
  return SERVER_FIELDS.find(([prefix]) => field === prefix || field.startsWith(`${prefix}[`) || field.startsWith(`${prefix}.`))?.[1];
}

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
  const [retries, setRetries] = useState(String(api.endpoints.retries));
  const [breakerOn, setBreakerOn] = useState(api.endpoints.circuitBreaker != null);
  const [failureThreshold, setFailureThreshold] = useState(String(api.endpoints.circuitBreaker?.failureThreshold ?? 5));
  const [openSeconds, setOpenSeconds] = useState(String(api.endpoints.circuitBreaker?.openSeconds ?? 30));
  const [cacheOn, setCacheOn] = useState(api.responseCache.enabled);
  const [ttl, setTtl] = useState(String(api.responseCache.ttlSeconds || 300));
  const [maxBody, setMaxBody] = useState(String(api.responseCache.maxBodyBytes || 1048576));
  const [validateRequests, setValidateRequests] = useState(api.validateRequests);
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
    const mock = endpointType === 'MOCK';
    // A MOCK endpoint has no backend: its URLs are not sent.
    const prod = mock ? [] : splitLines(production);
    const sand = mock ? [] : splitLines(sandbox);
    const errs: Errors = {
      name: nameCheck('Name')(name),
      production: mock ? null : httpUrlList(prod, 1, 'Production endpoints', api.type === 'WS'),
      sandbox: sand.length ? httpUrlList(sand, 0, 'Sandbox endpoints', api.type === 'WS') : null,
      timeout: integer('Timeout', { min: 1, max: 600000 })(timeout),
      retries: integer('Retries', { min: 0, max: 5 })(retries),
      failureThreshold: breakerOn ? integer('Failure threshold', { min: 1, max: 100 })(failureThreshold) : null,
      openSeconds: breakerOn ? integer('Open for', { min: 1, max: 3600 })(openSeconds) : null,
      ttl: cacheOn ? integer('Cache TTL', { min: 1, max: 86400 })(ttl) : null,
      maxBody: cacheOn ? integer('Largest cached body', { min: 1, max: 104857600 })(maxBody) : null,
      origins: corsEnabled && splitList(origins).length === 0 ? 'List at least one origin, or * for any.' : null,
    };
    if (!errs.production && (endpointType === 'LOAD_BALANCED' || endpointType === 'FAILOVER') && prod.length < 2) {
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
        endpoints: {
          type: endpointType,
          production: prod,
          sandbox: sand,
          timeoutMs: Number(timeout),
          retries: Number(retries),
          circuitBreaker: breakerOn ? { failureThreshold: Number(failureThreshold), openSeconds: Number(openSeconds) } : null,
        },
        responseCache: cacheOn
          ? { enabled: true, ttlSeconds: Number(ttl), maxBodyBytes: Number(maxBody) }
          : // Off keeps the numbers the API had, so turning it on again restores them.
            { enabled: false, ttlSeconds: api.responseCache.ttlSeconds || 300, maxBodyBytes: api.responseCache.maxBodyBytes || 1048576 },
        validateRequests,
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
    else if (serverFieldKey(errorField(res.error))) focusFirstInvalid(formRef.current);
  }

  // A server error naming one of the fields is shown next to it too.
  const serverKey = serverFieldKey(errorField(result.error));
  const shown: Errors =
    serverKey && result.error
      ? { ...errors, [serverKey]: errors[serverKey] || errorMessage(result.error).replace(`${errorField(result.error)}: `, '') }
      : errors;

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
        <TextField label="Name" value={name} onChange={setName} error={shown.name} required />
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
              { value: 'MOCK', label: 'Mock (answers from the OpenAPI examples)' },
            ]}
          />
          {endpointType === 'MOCK' ? (
            <section aria-label="Mock answers preview" className="stack">
              <p className="field-hint">
                No backend: each resource answers the example of its first 2xx response in the API’s OpenAPI definition (or one
                generated from its schema).
              </p>
              <MockPreview apiId={api.id} saved={api.endpoints.type === 'MOCK'} />
            </section>
          ) : (
            <>
              <TextField
                label="Production endpoints"
                value={production}
                onChange={setProduction}
                error={shown.production}
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
                error={shown.sandbox}
                multiline
                rows={2}
                monospace
                hint="Optional; one URL a line."
              />
              <TextField label="Timeout (ms)" value={timeout} onChange={setTimeoutMs} error={shown.timeout} type="number" />
              <TextField
                label="Retries"
                value={retries}
                onChange={setRetries}
                error={shown.retries}
                type="number"
                hint="0 to 5. Idempotent calls are retried on connection failures and 502, 503 or 504 answers, never once the answer has started."
              />
              <CheckboxField
                label="Circuit breaker"
                checked={breakerOn}
                onChange={setBreakerOn}
                hint="Stop calling an endpoint that keeps failing; after a pause one trial call decides."
              />
              {breakerOn && (
                <div className="field-row">
                  <TextField
                    label="Failure threshold"
                    value={failureThreshold}
                    onChange={setFailureThreshold}
                    error={shown.failureThreshold}
                    type="number"
                    hint="Consecutive 5xx answers or timeouts that open the circuit: 1 to 100."
                  />
                  <TextField
                    label="Open for (seconds)"
                    value={openSeconds}
                    onChange={setOpenSeconds}
                    error={shown.openSeconds}
                    type="number"
                    hint="How long the endpoint is skipped: 1 to 3600."
                  />
                </div>
              )}
            </>
          )}
        </fieldset>
        <fieldset className="fieldset">
          <legend>Response caching and validation</legend>
          <CheckboxField
            label="Cache responses"
            checked={cacheOn}
            onChange={setCacheOn}
            hint="Each gateway keeps GET and HEAD answers; a hit still passes authentication, subscription and throttling."
          />
          {cacheOn && (
            <div className="field-row">
              <TextField label="Cache TTL (seconds)" value={ttl} onChange={setTtl} error={shown.ttl} type="number" hint="1 to 86400." />
              <TextField
                label="Largest cached body (bytes)"
                value={maxBody}
                onChange={setMaxBody}
                error={shown.maxBody}
                type="number"
                hint="Up to 104857600 (100 MiB); larger answers are passed through, not cached."
              />
            </div>
          )}
          <CheckboxField
            label="Validate requests"
            checked={validateRequests}
            onChange={setValidateRequests}
            hint="Check parameters, headers and JSON bodies against the OpenAPI definition; the gateway answers 400 when they do not match."
          />
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
              <TextField label="Allowed origins" value={origins} onChange={setOrigins} error={shown.origins} hint="Comma-separated; * for any." />
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
