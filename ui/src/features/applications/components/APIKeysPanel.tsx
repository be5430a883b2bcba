import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import type { KeyType } from '../../../gql/graphql';
import { Badge } from '../../../components/Badge';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { CopyButton } from '../../../components/CopyButton';
import { SelectField, TextField } from '../../../components/Field';
import { Empty, ErrorNotice } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { GenerateAPIKeyMutation, RevokeAPIKeyMutation } from '../queries';
import { apiKeyStatus, parseValidityDays } from './apiKeyStatus';

export interface ListedAPIKey {
  id: string;
  label?: string | null;
  keyType: KeyType;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string | null;
}

const KEY_TYPES = [
  { value: 'PRODUCTION', label: 'Production' },
  { value: 'SANDBOX', label: 'Sandbox' },
];

/** An application's API keys: generate one (shown once), list them, revoke each. */
export function APIKeysPanel({
  applicationId,
  apiKeys,
  onChanged,
}: {
  applicationId: string;
  apiKeys: ListedAPIKey[];
  onChanged: () => void;
}) {
  const [label, setLabel] = useState('');
  const [keyType, setKeyType] = useState<KeyType>('PRODUCTION');
  const [validity, setValidity] = useState('');
  const [validityError, setValidityError] = useState<string | undefined>();
  const [shown, setShown] = useState<{ key: string; label: string } | null>(null);
  const [genResult, generate] = useMutation(GenerateAPIKeyMutation);
  const [revokeResult, revoke] = useMutation(RevokeAPIKeyMutation);

  async function onGenerate(e: FormEvent) {
    e.preventDefault();
    const v = parseValidityDays(validity);
    setValidityError(v.error);
    if (v.error) return;
    const res = await generate({ applicationId, keyType, validityDays: v.days ?? null, label: label.trim() || null });
    const k = res.data?.generateAPIKey;
    if (!k) return;
    setShown({ key: k.key, label: label.trim() });
    setLabel('');
    setValidity('');
    onChanged();
  }

  async function onRevoke(id: string) {
    const res = await revoke({ applicationId, id });
    if (!res.error) onChanged();
  }

  return (
    <section className="card" aria-labelledby="api-keys-heading">
      <h3 id="api-keys-heading">API keys</h3>
      <p className="muted small">Sent in the apikey header instead of an access token. A key is shown once; revoke one you no longer trust.</p>
      <form className="stack" onSubmit={onGenerate} noValidate>
        <div className="grid-2">
          <TextField label="Label" value={label} onChange={setLabel} hint="Optional, such as the machine that uses it." />
          <SelectField label="Key type" value={keyType} onChange={(v) => setKeyType(v as KeyType)} options={KEY_TYPES} />
        </div>
        <TextField label="Validity (days)" value={validity} onChange={setValidity} error={validityError} hint="Empty: 365 days." />
        <ErrorNotice error={genResult.error} title="Cannot generate the API key" />
        <div>
          <button type="submit" className="btn btn-primary" disabled={genResult.fetching}>
            {genResult.fetching ? 'Generating…' : 'Generate API key'}
          </button>
        </div>
      </form>
      {shown && (
        <div className="notice notice-warning" role="status">
          <p>
            <strong>Copy the API key now.</strong> It is not stored and will not be shown again.
          </p>
          <div className="secret-row">
            <code aria-label="New API key" data-testid="new-api-key">
              {shown.key}
            </code>
            <CopyButton value={shown.key} label="Copy API key" />
          </div>
        </div>
      )}
      <ErrorNotice error={revokeResult.error} title="Cannot revoke the API key" />
      {apiKeys.length === 0 ? (
        <Empty>No API keys yet.</Empty>
      ) : (
        <table className="table" aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Type</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {apiKeys.map((k) => {
              const status = apiKeyStatus(k);
              const name = k.label || `${k.keyType.toLowerCase()} key of ${formatTime(k.createdAt)}`;
              return (
                <tr key={k.id}>
                  <td>{k.label || <span className="muted">(no label)</span>}</td>
                  <td>{k.keyType === 'PRODUCTION' ? 'Production' : 'Sandbox'}</td>
                  <td>{formatTime(k.createdAt)}</td>
                  <td>{formatTime(k.expiresAt)}</td>
                  <td>
                    <Badge>{status}</Badge>
                  </td>
                  <td>
                    {status === 'Active' && (
                      <ConfirmButton
                        label="Revoke"
                        ariaLabel={`Revoke API key ${name}`}
                        confirmLabel="Confirm revoke"
                        question={`Revoke ${name}? Calls with it are refused at once.`}
                        onConfirm={() => onRevoke(k.id)}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
