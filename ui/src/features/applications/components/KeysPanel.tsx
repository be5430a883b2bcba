import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import type { KeyType } from '../../../gql/graphql';
import { CopyButton } from '../../../components/CopyButton';
import { TextField } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { clientCredentialsToken } from '../../../lib/oauth';
import { rememberToken } from '../../../lib/tokens';
import { GenerateKeysMutation, RegenerateSecretMutation } from '../queries';

interface Keys {
  keyType: KeyType;
  consumerKey: string;
  grantTypes: string[];
  createdAt: string;
}

const LABEL: Record<KeyType, string> = { PRODUCTION: 'Production', SANDBOX: 'Sandbox' };

/** One key type of an application: generate, show the secret once, get a token. */
export function KeysPanel({
  applicationId,
  applicationName,
  keyType,
  keys,
}: {
  applicationId: string;
  applicationName: string;
  keyType: KeyType;
  keys: Keys | undefined;
}) {
  const [generated, setGenerated] = useState<{ consumerKey: string; consumerSecret: string } | null>(null);
  const [genResult, generate] = useMutation(GenerateKeysMutation);
  const [regenResult, regenerate] = useMutation(RegenerateSecretMutation);
  const label = LABEL[keyType];
  const consumerKey = generated?.consumerKey ?? keys?.consumerKey;

  async function onGenerate() {
    const res = await generate({ applicationId, keyType, grantTypes: ['client_credentials'] });
    const k = res.data?.generateKeys;
    if (k?.consumerSecret) setGenerated({ consumerKey: k.consumerKey, consumerSecret: k.consumerSecret });
  }

  async function onRegenerate() {
    const res = await regenerate({ applicationId, keyType });
    const k = res.data?.regenerateConsumerSecret;
    if (k?.consumerSecret) setGenerated({ consumerKey: k.consumerKey, consumerSecret: k.consumerSecret });
  }

  return (
    <section className="card keys" aria-labelledby={`keys-${keyType}`}>
      <h3 id={`keys-${keyType}`}>{label} keys</h3>
      <ErrorNotice error={genResult.error || regenResult.error} title="Cannot generate the keys" />
      {!consumerKey ? (
        <button type="button" className="btn btn-primary" onClick={onGenerate} disabled={genResult.fetching}>
          {genResult.fetching ? 'Generating…' : `Generate ${label.toLowerCase()} keys`}
        </button>
      ) : (
        <>
          <div className="field">
            <span className="label" id={`ck-${keyType}`}>
              Consumer key
            </span>
            <div className="secret-row">
              <code aria-labelledby={`ck-${keyType}`} data-testid={`consumer-key-${keyType.toLowerCase()}`}>
                {consumerKey}
              </code>
              <CopyButton value={consumerKey} label="Copy consumer key" />
            </div>
          </div>
          {keys && (
            <p className="muted small">
              Grant types: {keys.grantTypes.join(', ') || 'none'} · created {formatTime(keys.createdAt)}
            </p>
          )}
          {generated ? (
            <div className="notice notice-warning" role="status">
              <p>
                <strong>Copy the consumer secret now.</strong> It is stored hashed and will not be shown again.
              </p>
              <div className="secret-row">
                <code aria-label={`${label} consumer secret`} data-testid={`consumer-secret-${keyType.toLowerCase()}`}>
                  {generated.consumerSecret}
                </code>
                <CopyButton value={generated.consumerSecret} label="Copy consumer secret" />
              </div>
            </div>
          ) : (
            <button type="button" className="btn btn-secondary btn-small" onClick={onRegenerate} disabled={regenResult.fetching}>
              {regenResult.fetching ? 'Regenerating…' : 'Regenerate consumer secret'}
            </button>
          )}
          <TokenForm
            applicationId={applicationId}
            applicationName={applicationName}
            keyType={keyType}
            consumerKey={consumerKey}
            secret={generated?.consumerSecret ?? ''}
          />
        </>
      )}
    </section>
  );
}

function TokenForm({
  applicationId,
  applicationName,
  keyType,
  consumerKey,
  secret,
}: {
  applicationId: string;
  applicationName: string;
  keyType: KeyType;
  consumerKey: string;
  secret: string;
}) {
  const [typed, setTyped] = useState('');
  const [scope, setScope] = useState('');
  const [token, setToken] = useState<{ value: string; expiresIn?: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const consumerSecret = secret || typed;
  const label = LABEL[keyType];

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!consumerSecret) {
      setFieldError('The consumer secret is required.');
      return;
    }
    setFieldError(null);
    setBusy(true);
    try {
      const res = await clientCredentialsToken(consumerKey, consumerSecret, scope);
      setToken({ value: res.access_token, expiresIn: res.expires_in });
      rememberToken({
        applicationId,
        applicationName,
        keyType,
        accessToken: res.access_token,
        expiresAt: res.expires_in ? Date.now() + res.expires_in * 1000 : undefined,
      });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form token-form" onSubmit={onSubmit} noValidate aria-label={`${label} token request`}>
      <h4>Access token</h4>
      {!secret && (
        <TextField
          label={`${label} consumer secret`}
          type="password"
          value={typed}
          onChange={setTyped}
          error={fieldError}
          autoComplete="off"
          hint="Paste the secret you saved when the keys were generated."
        />
      )}
      <TextField label={`${label} token scopes`} value={scope} onChange={setScope} hint="Optional, space-separated." />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Requesting…' : `Get ${label.toLowerCase()} access token`}
      </button>
      <ErrorNotice error={error} title="Cannot get a token" />
      {token && (
        <div className="token-result">
          <TextField label={`${label} access token`} value={token.value} onChange={() => {}} readOnly multiline rows={3} monospace />
          <div className="actions">
            <CopyButton value={token.value} label="Copy access token" />
            {token.expiresIn != null && <span className="muted small">Expires in {token.expiresIn} s.</span>}
          </div>
        </div>
      )}
    </form>
  );
}
