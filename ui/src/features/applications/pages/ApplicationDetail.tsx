import { useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { NotFound } from '../../../components/NotFound';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { RangePicker, UsageCharts, useUsageRange } from '../../../components/UsageCharts';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { EditApplicationForm } from '../components/EditApplicationForm';
import { APIKeysPanel } from '../components/APIKeysPanel';
import { KeysPanel } from '../components/KeysPanel';
import { TokenUsage } from '../../apis/components/TokenUsage';
import { ApplicationDetailQuery, ApplicationUsageQuery, UnsubscribeMutation } from '../queries';
import { typenames } from '../../../lib/typenames';
import { isNotFound } from '../../../lib/errors';

import { subscriptionNote } from '../../governance/governance';
import { TierChange } from '../../governance/components/TierChange';

/** What an application's approval state means to its owner. */
export function applicationNote(app: { status: string; statusReason?: string | null }): string | null {
  if (app.status === 'PENDING') return 'Waiting for approval: keys can be generated once an administrator approves the application.';
  if (app.status === 'REJECTED')
    return `The application was rejected${app.statusReason ? `: ${app.statusReason}` : '.'} It cannot get keys.`;
  return null;
}

export default function ApplicationDetail() {
  const { id = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ApplicationDetailQuery,
    variables: { id },
    context: typenames('Subscription', 'ApplicationKeys'),
  });
  const [unsubResult, unsubscribe] = useMutation(UnsubscribeMutation);
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const app = data?.application;
  useTitle(app ? `${app.name} · Applications` : 'Application');

  if (!data && fetching) return <Loading label="Loading the application…" />;
  // An object the caller may not see is NOT_FOUND (or null), like one that does not exist.
  if (!data && error && !isNotFound(error)) return <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!app) return <NotFound what="application" />;

  const keysOf = (t: 'PRODUCTION' | 'SANDBOX') => app.keys.find((k) => k.keyType === t);
  return (
    <section className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/devportal/applications">Applications</Link> <span aria-hidden="true">/</span> <span>{app.name}</span>
      </nav>
      <div className="page-header">
        <h1>{app.name}</h1>
        <div className="actions">
          <span className="muted">Policy: {app.throttlingPolicy}</span>
          {!editing && (
            <button
              ref={editButton}
              type="button"
              className="btn btn-secondary btn-small"
              onClick={() => {
                setSaved(null);
                setEditing(true);
              }}
            >
              Edit application
            </button>
          )}
        </div>
      </div>
      {saved && <SuccessNotice>Saved {saved}.</SuccessNotice>}
      {editing ? (
        <EditApplicationForm
          app={app}
          onDone={(savedName) => {
            setEditing(false);
            setSaved(savedName);
            // Back to the button that opened the form (it renders again first).
            requestAnimationFrame(() => editButton.current?.focus());
          }}
        />
      ) : (
        app.description && <p>{app.description}</p>
      )}
      <ErrorNotice error={error} />
      {app.status !== 'APPROVED' && (
        <div className={`notice ${app.status === 'REJECTED' ? 'notice-error' : 'notice-warning'}`} role="status">
          <Badge>{app.status}</Badge> {applicationNote(app)}
        </div>
      )}

      <h2>Subscriptions</h2>
      <ErrorNotice error={unsubResult.error} title="Cannot unsubscribe" />
      {app.subscriptions.length === 0 ? (
        <Empty>
          No subscriptions yet. <Link to="/devportal">Browse the APIs</Link> to subscribe.
        </Empty>
      ) : (
        <table className="table" aria-label="Subscriptions">
          <thead>
            <tr>
              <th scope="col">API</th>
              <th scope="col">Tier</th>
              <th scope="col">Status</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {app.subscriptions.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link to={`/devportal/apis/${s.api.id}`}>
                    {s.api.name} {s.api.version}
                  </Link>
                </td>
                <td>
                  {s.tier}
                  {s.pendingTier && <span className="muted small"> (→ {s.pendingTier} pending)</span>}
                  <TierChange subscription={s} tiers={s.api.subscriptionTiers} apiName={s.api.name} />
                </td>
                <td>
                  <Badge>{s.status}</Badge>
                  {subscriptionNote(s) && <span className="muted small status-help"> {subscriptionNote(s)}</span>}
                </td>
                <td>{formatTime(s.createdAt)}</td>
                <td>
                  <ConfirmButton
                    label="Unsubscribe" ariaLabel={`Unsubscribe from ${s.api.name}`}
                    confirmLabel="Confirm unsubscribe"
                    className="btn btn-secondary btn-small"
                    question={`Unsubscribe ${app.name} from ${s.api.name}?`}
                    onConfirm={() => unsubscribe({ id: s.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Keys</h2>
      {app.status !== 'APPROVED' ? (
        <Empty>Keys are disabled: only approved applications can get keys.</Empty>
      ) : (
        <>
          <div className="grid-2">
            <KeysPanel applicationId={app.id} applicationName={app.name} keyType="PRODUCTION" keys={keysOf('PRODUCTION')} />
            <KeysPanel applicationId={app.id} applicationName={app.name} keyType="SANDBOX" keys={keysOf('SANDBOX')} />
          </div>
          <APIKeysPanel applicationId={app.id} apiKeys={app.apiKeys} onChanged={() => refetch({ requestPolicy: 'network-only' })} />
        </>
      )}

      <h2>Usage</h2>
      <AppUsage applicationId={app.id} />
    </section>
  );
}

function AppUsage({ applicationId }: { applicationId: string }) {
  const [range, setRange] = useUsageRange('1h');
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ApplicationUsageQuery,
    variables: { applicationId, granularity: range.granularity, from: range.from, to: range.to },
    requestPolicy: 'network-only',
  });
  return (
    <div className="stack">
      <RangePicker range={range} onChange={setRange} />
      {fetching && !data && <Loading label="Loading usage…" />}
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {data && <UsageCharts series={data.applicationUsage} />}
      <TokenUsage of={{ applicationId }} range={range} />
    </div>
  );
}
