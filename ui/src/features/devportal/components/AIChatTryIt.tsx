import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import type { AiVendor } from '../../../gql/graphql';
import { chatRequest, parseChatResponse, type ChatAnswer } from '../../../lib/ai';
import { useHeldTokens } from '../../../lib/tokens';

/**
 * The chat try-it of an AI API: a model from the API's list, a message, sent through the
 * gateway with the application's token; shows the answer and the tokens the provider counted.
 */
export function AIChatTryIt({ gatewayURLs, vendor, models }: { gatewayURLs: string[]; vendor: AiVendor; models: string[] }) {
  const held = useHeldTokens();
  const [gateway, setGateway] = useState(gatewayURLs[0] ?? '');
  const [model, setModel] = useState(models[0] ?? '');
  const [message, setMessage] = useState('');
  const [token, setToken] = useState(held[0]?.accessToken ?? '');
  const [answer, setAnswer] = useState<ChatAnswer | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [errors, setErrors] = useState<{ message?: string; token?: string }>({});

  if (gatewayURLs.length === 0) return <p className="muted">The API is not deployed on a gateway yet.</p>;
  const req = chatRequest(vendor, model, message);
  const url = gateway.replace(/\/+$/, '') + req.path;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setFailure(null);
    setAnswer(null);
    const errs = {
      message: message.trim() ? undefined : 'Write a message to send.',
      token: token.trim() ? undefined : 'An access token is required: get one on your application’s page.',
    };
    setErrors(errs);
    if (errs.message || errs.token) return;
    setSending(true);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token.trim()}`, 'Content-Type': 'application/json' },
        body: req.body,
        credentials: 'omit',
        mode: 'cors',
      });
      const text = await res.text();
      const parsed = res.ok ? parseChatResponse(text) : undefined;
      if (parsed) setAnswer(parsed);
      else setFailure(`${res.status} ${res.statusText}: ${text.slice(0, 500) || '(empty)'}`);
    } catch (err) {
      setFailure(`The request did not complete (${(err as Error).message}). The gateway may be unreachable, or the API does not allow calls from this page (CORS).`);
    } finally {
      setSending(false);
    }
  }

  return (
    <form className="form tryit" onSubmit={onSubmit} noValidate aria-label="Chat">
      {gatewayURLs.length > 1 && <SelectField label="Gateway" value={gateway} onChange={setGateway} options={gatewayURLs.map((g) => ({ value: g, label: g }))} />}
      {models.length > 0 ? (
        <SelectField label="Model" value={model} onChange={setModel} options={models.map((m) => ({ value: m, label: m }))} />
      ) : (
        <TextField label="Model" value={model} onChange={setModel} hint="The API names no models: the one you name passes to the provider." />
      )}
      <TextField label="Message" value={message} onChange={setMessage} multiline rows={4} error={errors.message} required />
      {held.length > 0 && (
        <SelectField
          label="Use a token from"
          value=""
          onChange={(v) => v && setToken(v)}
          options={[{ value: '', label: 'Choose an application…' }, ...held.map((t) => ({ value: t.accessToken, label: `${t.applicationName} (${t.keyType.toLowerCase()})` }))]}
        />
      )}
      <TextField label="Access token" value={token} onChange={setToken} error={errors.token} monospace required />
      <p className="mono small url-preview" aria-label="Request URL">
        POST {url}
      </p>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={sending}>
          {sending ? 'Sending…' : 'Send'}
        </button>
      </div>
      {failure && <ErrorNotice error={failure} title="Request failed" />}
      {answer && (
        <section className="response" aria-label="Answer">
          <p className="chat-answer">{answer.text || '(empty answer)'}</p>
          <p className="muted small" aria-label="Tokens used">
            {answer.model ? `${answer.model} · ` : ''}
            {answer.usage
              ? `${answer.usage.promptTokens} prompt + ${answer.usage.completionTokens} completion = ${answer.usage.totalTokens} tokens`
              : 'The provider did not report the tokens used.'}
          </p>
        </section>
      )}
    </form>
  );
}
