import { useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useClient, useMutation } from 'urql';
import { MethodBadge } from '../../../components/Badge';
import { CheckboxField, SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import type { ApiType } from '../../../gql/graphql';
import { errorField, errorMessage } from '../../../lib/errors';
import { rootFields } from '../../../lib/sdl';
import { contextPath, hasErrors, httpUrl, name as nameCheck, splitList, version as versionCheck, wsUrl } from '../../../lib/validate';
import { TierPicker } from '../components/TierPicker';
import { CreateApiMutation, GraphQLSchemaFromEndpointQuery } from '../queries';

type FieldKey = 'type' | 'name' | 'context' | 'version' | 'endpoint' | 'sandbox' | 'sdl' | 'tiers';
type Errors = Partial<Record<FieldKey, string | null>>;

export const API_TYPES: Array<{ value: ApiType; label: string }> = [
  { value: 'HTTP', label: 'HTTP (REST)' },
  { value: 'GRAPHQL', label: 'GraphQL' },
  { value: 'WS', label: 'WebSocket' },
  { value: 'SSE', label: 'Server-Sent Events' },
];

/** The form field a server error names (extensions.field such as input.graphQLSchema). */
export function createFieldOf(field: string | undefined): FieldKey | undefined {
  if (!field) return undefined;
  const f = field.replace(/^input\./, '');
  if (f.startsWith('endpoints.sandbox')) return 'sandbox';
  if (f.startsWith('endpoints')) return 'endpoint';
  if (f.startsWith('graphQLSchema') || f.startsWith('resources')) return 'sdl';
  if (f.startsWith('subscriptionTiers')) return 'tiers';
  const head = f.split(/[.[]/)[0];
  return (['type', 'name', 'context', 'version'] as const).find((k) => k === head);
}

export default function ApiCreate() {
  useTitle('Create API · Publisher');
  const navigate = useNavigate();
  const client = useClient();
  const [apiType, setApiType] = useState<ApiType>('HTTP');
  const [sdl, setSdl] = useState('');
  const [countEvents, setCountEvents] = useState(false);
  const [fetchingSchema, setFetchingSchema] = useState(false);
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
  const operations = useMemo(() => (apiType === 'GRAPHQL' ? rootFields(sdl) : []), [apiType, sdl]);
  const urlCheck = apiType === 'WS' ? wsUrl : httpUrl;
  // A server error that names a field shows beside it; others above the form.
  const serverField = createFieldOf(errorField(result.error));

  async function fetchSchema() {
    const err = httpUrl(endpoint);
    if (err) {
      setErrors((x) => ({ ...x, endpoint: err, sdl: 'Enter the endpoint URL to fetch its schema.' }));
      return;
    }
    setErrors((x) => ({ ...x, endpoint: null, sdl: null }));
    setFetchingSchema(true);
    try {
      const res = await client.query(GraphQLSchemaFromEndpointQuery, { url: endpoint.trim() }, { requestPolicy: 'network-only' }).toPromise();
      if (res.data?.graphQLSchemaFromEndpoint) setSdl(res.data.graphQLSchemaFromEndpoint);
      else setErrors((x) => ({ ...x, sdl: `Cannot fetch the schema: ${errorMessage(res.error) || 'no answer.'}` }));
    } finally {
      setFetchingSchema(false);
    }
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const graphQL = apiType === 'GRAPHQL';
    const errs: Errors = {
      name: nameCheck('Name')(name),
      context: contextPath(context),
      version: versionCheck(version),
      endpoint: urlCheck(endpoint),
      sandbox: sandbox.trim() ? urlCheck(sandbox) : null,
      sdl: !graphQL
        ? null
        : !sdl.trim()
          ? 'Paste the backend’s SDL, or fetch it from the endpoint.'
          : operations.length === 0
            ? 'The SDL has no root fields: declare type Query { ... }.'
            : null,
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
        ...(apiType === 'HTTP' ? {} : { type: apiType }),
        ...(graphQL ? { graphQLSchema: sdl } : {}),
        ...(apiType === 'SSE' ? { countEvents } : {}),
      },
    });
    if (res.data) navigate(`/publisher/apis/${res.data.createAPI.id}`);
    else focusFirstInvalid(formRef.current);
  }

  const fieldError = (k: FieldKey) => errors[k] ?? (serverField === k ? errorMessage(result.error) : null);
  const endpointHint = {
    HTTP: 'The production backend.',
    GRAPHQL: 'The production GraphQL backend (where it answers POST queries).',
    WS: 'The production WebSocket backend: ws://, wss://, or the http(s):// URL of its upgrade.',
    SSE: 'The production event stream.',
    AI: '',
    MCP: '',
    PRODUCT: '',
  }[apiType];

  return (
    <section className="page">
      <div className="page-header">
        <h1>Create API</h1>
        <Link to="/publisher/apis/import">Import an OpenAPI document instead</Link>
      </div>
      <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create API">
        {!serverField && <ErrorNotice error={result.error} title="Cannot create the API" />}
        <SelectField
          label="API type"
          value={apiType}
          onChange={(v) => setApiType(v as ApiType)}
          options={API_TYPES}
          error={fieldError('type')}
          hint="HTTP routes requests by method and path; GraphQL checks each query against the schema; WebSocket and SSE stream."
        />
        <div className="grid-2">
          <TextField label="Name" value={name} onChange={setName} error={fieldError('name')} required />
          <TextField label="Version" value={version} onChange={setVersion} error={fieldError('version')} required hint="Such as 1.0.0." />
        </div>
        <TextField
          label="Context"
          value={context}
          onChange={setContext}
          error={fieldError('context')}
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
          error={fieldError('endpoint')}
          required
          placeholder={apiType === 'WS' ? 'wss://backend.example.com/chat' : apiType === 'GRAPHQL' ? 'https://backend.example.com/graphql' : 'https://backend.example.com/v1'}
          hint={endpointHint}
        />
        <TextField
          label="Sandbox endpoint URL"
          type="url"
          value={sandbox}
          onChange={setSandbox}
          error={fieldError('sandbox')}
          hint="Optional: the backend for sandbox keys."
        />
        {apiType === 'GRAPHQL' && (
          <fieldset className="fieldset">
            <legend>Schema</legend>
            <TextField
              label="Schema (SDL)"
              value={sdl}
              onChange={setSdl}
              error={fieldError('sdl')}
              required
              multiline
              rows={12}
              monospace
              placeholder={'type Query {\n  books(first: Int): [Book!]! @listSize(assumedSize: 10)\n}'}
              hint="The backend’s schema. Fields may carry @cost(weight: Int!), list fields @listSize(assumedSize: Int!)."
            />
            <div className="actions">
              <button type="button" className="btn btn-secondary" onClick={fetchSchema} disabled={fetchingSchema}>
                {fetchingSchema ? 'Fetching…' : 'Fetch schema from the endpoint'}
              </button>
            </div>
            <section aria-label="Operations">
              <h3 className="label">Operations ({operations.length})</h3>
              {operations.length === 0 ? (
                <p className="muted small">Each root field becomes a resource; none is declared yet.</p>
              ) : (
                <>
                  <ul className="operation-list">
                    {operations.map((o) => (
                      <li key={`${o.kind} ${o.name}`} className="mono">
                        <MethodBadge method={o.kind} /> {o.name}
                      </li>
                    ))}
                  </ul>
                  <p className="muted small">Each becomes a resource needing a token; set scopes and throttling on the Resources tab.</p>
                </>
              )}
            </section>
          </fieldset>
        )}
        {apiType === 'SSE' && (
          <CheckboxField
            label="Count events"
            checked={countEvents}
            onChange={setCountEvents}
            hint="Every event sent counts against the tiers, besides the connection."
          />
        )}
        <TextField label="Description" value={description} onChange={setDescription} multiline hint="Markdown." />
        <TextField label="Tags" value={tags} onChange={setTags} hint="Comma-separated." />
        <TierPicker value={tiers} onChange={setTiers} error={fieldError('tiers')} />
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
