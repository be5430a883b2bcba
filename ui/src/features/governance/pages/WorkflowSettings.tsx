import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { WorkflowType } from '../../../gql/graphql';
import { TextField } from '../../../components/Field';
import { ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { WORKFLOW_HELP, WORKFLOW_LABELS, WORKFLOW_TYPES, webhookUrlError } from '../governance';
import { SetWorkflowApprovalMutation, SetWorkflowWebhookMutation, WorkflowSettingsQuery } from '../queries';

export default function WorkflowSettings() {
  useTitle('Workflow settings · Admin');
  const [{ data, fetching, error }, refetch] = useQuery({ query: WorkflowSettingsQuery });
  const [switchResult, setApproval] = useMutation(SetWorkflowApprovalMutation);
  // The switch shows what was asked at once; a failed change goes back to what is stored.
  const [asked, setAsked] = useState<Partial<Record<WorkflowType, boolean>>>({});
  const required = (t: WorkflowType) => asked[t] ?? data?.workflowSettings.find((s) => s.type === t)?.approvalRequired ?? false;
  async function onSwitch(type: WorkflowType, on: boolean) {
    setAsked((a) => ({ ...a, [type]: on }));
    const res = await setApproval({ type, required: on });
    setAsked((a) => {
      const next = { ...a };
      if (res.data) next[type] = res.data.setWorkflowApproval.approvalRequired;
      else delete next[type];
      return next;
    });
  }
  return (
    <section className="page">
      <div className="page-header">
        <h1>Workflow settings</h1>
      </div>
      <p className="muted">Each kind of request can wait for an administrator's approval in Tasks. All are off by default.</p>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      <ErrorNotice error={switchResult.error} title="Cannot change the setting" />
      {fetching && !data && <Loading label="Loading settings…" />}
      {data && (
        <div className="card stack" role="group" aria-label="Approval required">
          <h2>Approval required</h2>
          {WORKFLOW_TYPES.map((t) => {
            const id = `workflow-${t}`;
            return (
              <div key={t} className="field field-check">
                <input
                  id={id}
                  type="checkbox"
                  role="switch"
                  checked={required(t)}
                  disabled={switchResult.fetching}
                  aria-describedby={`${id}-hint`}
                  onChange={(e) => onSwitch(t, e.target.checked)}
                />
                <label htmlFor={id}>{WORKFLOW_LABELS[t]}</label>
                <span className="field-hint" id={`${id}-hint`}>
                  {WORKFLOW_HELP[t]}
                </span>
              </div>
            );
          })}
        </div>
      )}
      {data && <WebhookForm url={data.workflowWebhook.url ?? ''} secretSet={data.workflowWebhook.secretSet} />}
    </section>
  );
}

function WebhookForm({ url: savedUrl, secretSet }: { url: string; secretSet: boolean }) {
  const [url, setUrl] = useState(savedUrl);
  const [secret, setSecret] = useState('');
  const [urlError, setUrlError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [result, save] = useMutation(SetWorkflowWebhookMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(null);
    const err = webhookUrlError(url);
    setUrlError(err);
    if (err) return;
    // secret null keeps the stored one; it is never shown back.
    const res = await save({ url: url.trim() || null, secret: secret ? secret : null });
    if (res.data) {
      setSecret('');
      setSaved(res.data.setWorkflowWebhook.url ? 'Webhook saved.' : 'Webhook turned off.');
    }
  }

  return (
    <form className="form card" onSubmit={onSubmit} noValidate aria-label="Workflow webhook">
      <h2>Webhook</h2>
      <p className="muted small">
        Each new task and decision is posted as JSON, signed with HMAC-SHA256 in <code>X-Turnpike-Signature</code>.
      </p>
      <ErrorNotice error={result.error} title="Cannot save the webhook" />
      <SuccessNotice>{saved}</SuccessNotice>
      <TextField label="Webhook URL" value={url} onChange={setUrl} error={urlError} hint="Empty turns the webhook off." type="url" />
      <TextField
        label="Signing secret"
        type="password"
        value={secret}
        onChange={setSecret}
        autoComplete="new-password"
        hint={secretSet ? 'A secret is stored. Leave empty to keep it; type a new one to replace it.' : 'No secret is stored.'}
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          Save webhook
        </button>
      </div>
    </form>
  );
}
