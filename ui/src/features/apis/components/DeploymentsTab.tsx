import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { getFragmentData } from '../../../gql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { TextField } from '../../../components/Field';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { errorMessage } from '../../../lib/errors';
import { typenames } from '../../../lib/typenames';
import { maxLength } from '../../../lib/validate';
import { canDeploy } from '../../auth/roles';
import { useSession } from '../../auth/session';
import { deploymentStatus, laggingGateways, lastEditAt, workingCopyDrift } from '../deployments';
import {
  ApiDeploymentsQuery,
  CreateRevisionMutation,
  DeleteRevisionMutation,
  DeploymentFields,
  DeployRevisionMutation,
  RestoreRevisionMutation,
  UndeployRevisionMutation,
} from '../queries';
import { useLiveDeployments, type LiveDeployments } from '../useLiveDeployments';

// Mutations answering a Boolean name what they changed, so the tab's query is refetched.
const CHANGES_DEPLOYMENTS = typenames('APIRevision', 'Deployment');

interface Revision {
  id: string;
  number: number;
  description?: string | null;
  createdAt: string;
}

export function DeploymentsTab({ apiId }: { apiId: string }) {
  const { me } = useSession();
  const mayDeploy = canDeploy(me);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ApiDeploymentsQuery,
    variables: { id: apiId },
    context: CHANGES_DEPLOYMENTS,
  });
  const [epoch, setEpoch] = useState(0);
  const live = useLiveDeployments(apiId, epoch);
  const [deploying, setDeploying] = useState<Revision | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [undeployResult, undeploy] = useMutation(UndeployRevisionMutation);
  const [restoreResult, restore] = useMutation(RestoreRevisionMutation);
  const [deleteResult, deleteRevision] = useMutation(DeleteRevisionMutation);

  const api = data?.api;
  const environments = data?.environments ?? [];
  // While live, its list is the newest word on deployments; otherwise (before the first
  // message, or after the socket failed) the query's, which mutations refresh.
  const liveList = live.status === 'live' ? live.deployments : null;
  const deployments = useMemo(
    () => (liveList ?? api?.deployments ?? []).map((d) => getFragmentData(DeploymentFields, d)),
    [liveList, api?.deployments],
  );
  const revisions = useMemo(() => [...(api?.revisions ?? [])].sort((a, b) => b.number - a.number), [api?.revisions]);
  // A revision deployed by someone else may be one this page has not listed yet.
  const unknownRevision = !!api && deployments.some((d) => !api.revisions.some((r) => r.id === d.revision.id));
  useEffect(() => {
    if (unknownRevision) refetch({ requestPolicy: 'network-only' });
  }, [unknownRevision, refetch]);
  const drift = useMemo(() => {
    if (!api) return null;
    const edited = lastEditAt(api.updatedAt, api.lifecycleHistory.map((h) => h.at));
    return workingCopyDrift(edited, revisions, new Set(deployments.map((d) => d.revision.id)));
  }, [api, revisions, deployments]);

  if (fetching && !data) return <Loading label="Loading revisions and deployments…" />;
  if (!api) return <ErrorNotice error={error ?? 'The API is not available.'} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;

  const envLabel = (name: string) => {
    const env = environments.find((e) => e.name === name);
    return env && env.displayName && env.displayName !== name ? `${env.displayName} (${name})` : name;
  };
  const whereDeployed = (revisionId: string) => deployments.filter((d) => d.revision.id === revisionId).map((d) => d.environment);
  const deployedEnvs = deployments.map((d) => d.environment);

  return (
    <div className="stack">
      <h2>Deployments</h2>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      <LiveArea live={live} onReconnect={() => setEpoch((n) => n + 1)} />
      {drift && (drift.unsaved || drift.behind.length > 0) && (
        <div className="notice notice-warning" role="note" aria-label="Working copy">
          {drift.unsaved && <p>The working copy has changes that no revision holds yet: create a revision to deploy them.</p>}
          {drift.behind.map((r) => (
            <p key={r.id}>
              The working copy differs from revision {r.number}, deployed to {whereDeployed(r.id).map(envLabel).join(', ')}: the
              gateways there do not serve the later edits.
            </p>
          ))}
        </div>
      )}
      <SuccessNotice>{done}</SuccessNotice>
      <ErrorNotice error={undeployResult.error} title="Cannot undeploy the revision" />

      <h3>Where it is deployed</h3>
      {deployments.length === 0 ? (
        <Empty>No revision of this API is deployed: no gateway serves it.</Empty>
      ) : (
        <table className="table" aria-label="Deployments">
          <thead>
            <tr>
              <th scope="col">Environment</th>
              <th scope="col">Revision</th>
              <th scope="col">Deployed</th>
              <th scope="col">Gateways</th>
              {mayDeploy && (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {deployments.map((d) => {
              const status = deploymentStatus(d);
              const lag = laggingGateways(d);
              return (
                <tr key={d.environment}>
                  <td>{envLabel(d.environment)}</td>
                  <td>Revision {d.revision.number}</td>
                  <td>{formatTime(d.deployedAt)}</td>
                  <td>
                    <span className={`deploy-status deploy-${status.tone}`} data-testid={`deployment-status-${d.environment}`}>
                      {status.text}
                    </span>
                    {lag.lagging.length > 0 && <span className="deploy-gateways">Lagging: {lag.lagging.join(', ')}</span>}
                    {lag.stale.length > 0 && <span className="deploy-gateways">Stale, not counted: {lag.stale.join(', ')}</span>}
                  </td>
                  {mayDeploy && (
                    <td className="actions">
                      <ConfirmButton
                        label="Undeploy"
                        ariaLabel={`Undeploy revision ${d.revision.number} from ${d.environment}`}
                        confirmLabel="Confirm undeploy"
                        question={`Undeploy revision ${d.revision.number} from ${d.environment}? Its gateways stop serving the API.`}
                        onConfirm={async () => {
                          setDone(null);
                          const res = await undeploy({ id: d.revision.id, environments: [d.environment] }, CHANGES_DEPLOYMENTS);
                          if (!res.error) setDone(`Revision ${d.revision.number} undeployed from ${d.environment}.`);
                        }}
                      />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <h3>Revisions</h3>
      <ErrorNotice error={restoreResult.error} title="Cannot restore the revision" />
      <ErrorNotice error={deleteResult.error} title="Cannot delete the revision" />
      {revisions.length === 0 ? (
        <Empty>No revisions yet. A revision is an immutable copy of the API that can be deployed to gateways.</Empty>
      ) : (
        <table className="table" aria-label="Revisions">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Deployed to</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {revisions.map((r) => {
              const envs = whereDeployed(r.id);
              return (
                <tr key={r.id}>
                  <td>Revision {r.number}</td>
                  <td>{r.description || <span className="muted">—</span>}</td>
                  <td>{formatTime(r.createdAt)}</td>
                  <td>{envs.length ? envs.map(envLabel).join(', ') : <span className="muted">not deployed</span>}</td>
                  <td className="actions">
                    {mayDeploy && (
                      <button
                        type="button"
                        className="btn btn-primary btn-small"
                        aria-label={`Deploy revision ${r.number}…`}
                        aria-expanded={deploying?.id === r.id}
                        onClick={() => {
                          setDone(null);
                          setDeploying(deploying?.id === r.id ? null : r);
                        }}
                      >
                        Deploy…
                      </button>
                    )}
                    <ConfirmButton
                      label="Restore"
                      ariaLabel={`Restore revision ${r.number}`}
                      className="btn btn-secondary btn-small"
                      confirmLabel="Confirm restore"
                      question={`Replace the working copy with revision ${r.number}? Edits that no revision holds are lost.`}
                      onConfirm={async () => {
                        setDone(null);
                        const res = await restore({ id: r.id });
                        if (!res.error) setDone(`The working copy now equals revision ${r.number}.`);
                      }}
                    />
                    <ConfirmButton
                      label="Delete"
                      ariaLabel={`Delete revision ${r.number}`}
                      confirmLabel="Confirm delete"
                      question={`Delete revision ${r.number}?`}
                      onConfirm={async () => {
                        setDone(null);
                        const res = await deleteRevision({ id: r.id }, CHANGES_DEPLOYMENTS);
                        if (!res.error) setDone(`Revision ${r.number} deleted.`);
                      }}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {!mayDeploy && <p className="muted">Only publishers and administrators deploy revisions.</p>}
      {deploying && mayDeploy && (
        <DeployForm
          key={deploying.id}
          revision={deploying}
          environments={environments}
          initial={deployedEnvs.length ? deployedEnvs : environments.some((e) => e.name === 'Default') ? ['Default'] : []}
          onCancel={() => setDeploying(null)}
          onDeployed={(envs) => {
            setDeploying(null);
            setDone(`Revision ${deploying.number} deployed to ${envs.join(', ')}.`);
          }}
        />
      )}
      <CreateRevisionForm apiId={apiId} onCreated={(n) => setDone(`Revision ${n} created.`)} />
    </div>
  );
}

/** Whether the statuses follow the gateways; when they cannot, Refresh still works. */
function LiveArea({ live, onReconnect }: { live: LiveDeployments; onReconnect: () => void }) {
  let body;
  if (live.status === 'live') {
    body = (
      <span className="live live-on" title="Gateway acknowledgements appear as they arrive.">
        <span className="live-dot" aria-hidden="true" />
        Live
      </span>
    );
  } else if (live.status === 'connecting') {
    body = <span className="live live-connecting">Connecting to live status…</span>;
  } else {
    body = (
      <>
        <span className="live live-off">
          {live.status === 'closed' ? 'Live status ended' : 'Live status unavailable'}
          {live.error ? `: ${live.error.networkError?.message || errorMessage(live.error)}` : ''}. The statuses shown may be old.
        </span>
        <button type="button" className="btn btn-secondary btn-small" onClick={onReconnect}>
          Reconnect
        </button>
      </>
    );
  }
  return (
    <div className="live-area" role="status" aria-live="polite" aria-label="Live status">
      {body}
    </div>
  );
}

function DeployForm({
  revision,
  environments,
  initial,
  onCancel,
  onDeployed,
}: {
  revision: Revision;
  environments: Array<{ name: string; displayName: string }>;
  initial: string[];
  onCancel: () => void;
  onDeployed: (envs: string[]) => void;
}) {
  const [chosen, setChosen] = useState<string[]>(initial.filter((n) => environments.some((e) => e.name === n)));
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [result, deploy] = useMutation(DeployRevisionMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const err = chosen.length === 0 ? 'Choose at least one environment.' : null;
    setFieldError(err);
    if (err) return;
    const res = await deploy({ id: revision.id, environments: chosen }, CHANGES_DEPLOYMENTS);
    if (!res.error) onDeployed(chosen);
  }

  return (
    <form className="form card" onSubmit={onSubmit} noValidate aria-label={`Deploy revision ${revision.number}`}>
      <h3>Deploy revision {revision.number}</h3>
      <p className="muted">
        Replaces the revision deployed in each environment chosen (deploying an older revision rolls back). The gateways of the other
        environments keep theirs.
      </p>
      <ErrorNotice error={result.error} title="Cannot deploy the revision" />
      {environments.length === 0 ? (
        <Empty>There is no gateway environment: an administrator creates them.</Empty>
      ) : (
        <fieldset className="fieldset">
          <legend>Environments</legend>
          <div className="checks checks-inline">
            {environments.map((env) => (
              <div key={env.name} className="field-check">
                <input
                  id={`deploy-${revision.id}-${env.name}`}
                  type="checkbox"
                  checked={chosen.includes(env.name)}
                  aria-invalid={fieldError ? true : undefined}
                  onChange={(e) => setChosen(e.target.checked ? [...chosen, env.name] : chosen.filter((n) => n !== env.name))}
                />
                <label htmlFor={`deploy-${revision.id}-${env.name}`}>
                  {env.displayName && env.displayName !== env.name ? `${env.displayName} (${env.name})` : env.name}
                </label>
              </div>
            ))}
          </div>
          {fieldError && <span className="field-error">{fieldError}</span>}
        </fieldset>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching || environments.length === 0}>
          {result.fetching ? 'Deploying…' : `Deploy revision ${revision.number}`}
        </button>
        <button type="button" className="btn btn-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const descriptionCheck = maxLength('Description', 1000);

function CreateRevisionForm({ apiId, onCreated }: { apiId: string; onCreated: (n: number) => void }) {
  const [description, setDescription] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [result, create] = useMutation(CreateRevisionMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const err = descriptionCheck(description);
    setFieldError(err);
    if (err) return;
    const res = await create({ apiId, description: description.trim() || null });
    if (res.data) {
      setDescription('');
      onCreated(res.data.createRevision.number);
    }
  }

  return (
    <form className="form card form-inline" onSubmit={onSubmit} noValidate aria-label="Create revision">
      <h3>Create a revision</h3>
      <p className="muted">Copies the working copy as it is now (definition, resources, endpoints, policies, tiers, CORS, OpenAPI).</p>
      <ErrorNotice error={result.error} title="Cannot create the revision" />
      <TextField label="Revision description" value={description} onChange={setDescription} error={fieldError} placeholder="What changed" />
      <button type="submit" className="btn btn-primary" disabled={result.fetching}>
        {result.fetching ? 'Creating…' : 'Create revision'}
      </button>
    </form>
  );
}
