import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { Badge } from '../../../components/Badge';
import { SelectField } from '../../../components/Field';
import { ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { MyApplicationsQuery, SubscribeMutation } from '../../applications/queries';
import { typenames } from '../../../lib/typenames';
import { subscriptionNote } from '../../governance/governance';

export function SubscribePanel({ apiId, tiers, subscribable }: { apiId: string; tiers: string[]; subscribable: boolean }) {
  const [{ data, fetching, error }] = useQuery({
    query: MyApplicationsQuery,
    context: typenames('Application', 'Subscription'),
  });
  const [appId, setAppId] = useState('');
  const [tier, setTier] = useState(tiers[0] ?? '');
  const [errors, setErrors] = useState<{ app?: string | null; tier?: string | null }>({});
  const [result, subscribe] = useMutation(SubscribeMutation);
  const apps = data?.applications ?? [];
  const mine = apps.flatMap((a) => a.subscriptions.filter((s) => s.api.id === apiId).map((s) => ({ ...s, app: a })));
  const candidates = apps.filter((a) => !a.subscriptions.some((s) => s.api.id === apiId));
  const chosenApp = appId || candidates[0]?.id || '';

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs = { app: chosenApp ? null : 'Choose an application.', tier: tier ? null : 'Choose a tier.' };
    setErrors(errs);
    if (errs.app || errs.tier) return;
    const res = await subscribe({ apiId, applicationId: chosenApp, tier });
    if (res.data) setAppId('');
  }

  if (fetching && !data) return <Loading label="Loading your applications…" />;
  return (
    <div className="stack">
      <ErrorNotice error={error} />
      {result.data && (
        <SuccessNotice>
          Subscribed {result.data.subscribe.application.name} ({result.data.subscribe.status}
          {result.data.subscribe.status === 'ON_HOLD' ? ', waiting for approval' : ''}).
        </SuccessNotice>
      )}
      {mine.length > 0 && (
        <table className="table table-compact" aria-label="Your subscriptions to this API">
          <thead>
            <tr>
              <th scope="col">Application</th>
              <th scope="col">Tier</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {mine.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link to={`/devportal/applications/${s.app.id}`}>{s.app.name}</Link>
                </td>
                <td>
                  {s.tier}
                  {s.pendingTier && <span className="muted small"> (→ {s.pendingTier} pending)</span>}
                </td>
                <td>
                  <Badge>{s.status}</Badge>
                  {subscriptionNote(s) && <span className="muted small status-help"> {subscriptionNote(s)}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!subscribable ? (
        <p className="muted">This API does not take new subscriptions in its current state.</p>
      ) : apps.length === 0 ? (
        <p>
          You have no application yet. <Link to="/devportal/applications">Create an application</Link> to subscribe.
        </p>
      ) : candidates.length === 0 ? (
        <p className="muted">All your applications subscribe to this API.</p>
      ) : (
        <form className="form form-inline" onSubmit={onSubmit} noValidate aria-label="Subscribe">
          <ErrorNotice error={result.error} title="Cannot subscribe" />
          <SelectField
            label="Application"
            value={chosenApp}
            onChange={setAppId}
            error={errors.app}
            options={candidates.map((a) => ({ value: a.id, label: a.name }))}
          />
          <SelectField label="Tier" value={tier} onChange={setTier} error={errors.tier} options={tiers.map((t) => ({ value: t, label: t }))} />
          <button type="submit" className="btn btn-primary" disabled={result.fetching}>
            {result.fetching ? 'Subscribing…' : 'Subscribe'}
          </button>
        </form>
      )}
    </div>
  );
}
