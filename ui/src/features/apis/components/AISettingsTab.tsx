import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { TextField } from '../../../components/Field';
import { ListEditor } from '../../../components/ListEditor';
import { ErrorNotice } from '../../../components/States';
import { getFragmentData, type FragmentType } from '../../../gql';
import { AI_VENDORS, EXAMPLE_MODELS, cleanList, guardErrors } from '../../../lib/ai';
import { ApiAIFields, UpdateApiAIMutation } from '../queries';

export const GUARD_HINT = 'Regular expressions (RE2, as in Go): a prompt matching one is refused with 400. Such as (?i)\\bpassword\\b or \\d{3}-\\d{2}-\\d{4}.';

/** An AI API's settings: vendor, whether a key is stored (replace it), models and prompt guards. */
export function AISettingsTab({ api: apiRef }: { api: FragmentType<typeof ApiAIFields> }) {
  const api = getFragmentData(ApiAIFields, apiRef);
  const ai = api.ai;
  const [models, setModels] = useState<string[]>(ai?.models ?? []);
  const [guards, setGuards] = useState<string[]>(ai?.promptGuard ?? []);
  const [replacing, setReplacing] = useState(false);
  const [key, setKey] = useState('');
  const [keyError, setKeyError] = useState<string | null>(null);
  const [gErrs, setGErrs] = useState<Record<number, string>>({});
  const [saved, setSaved] = useState(false);
  const [result, update] = useMutation(UpdateApiAIMutation);
  if (!ai) return <p className="muted">This API is not an AI API.</p>;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const ge = guardErrors(guards);
    const ke = replacing && !key.trim() ? 'Enter the new provider key, or cancel the replacement.' : null;
    setGErrs(ge);
    setKeyError(ke);
    if (ke || Object.keys(ge).length) return;
    const res = await update({
      id: api.id,
      input: { ai: { models: cleanList(models), promptGuard: cleanList(guards), ...(replacing ? { backendKey: key.trim() } : {}) } },
    });
    if (res.data) {
      setSaved(true);
      setReplacing(false);
      setKey('');
    }
  }

  const vendor = AI_VENDORS.find((v) => v.value === ai.vendor)?.label ?? ai.vendor;
  return (
    <form className="form stack" onSubmit={onSubmit} noValidate aria-label="AI settings">
      <h2>AI settings</h2>
      <ErrorNotice error={result.error} title="Cannot save the AI settings" />
      <dl className="facts">
        <dt>Vendor</dt>
        <dd>{vendor}</dd>
        <dt>Provider key</dt>
        <dd aria-label="Provider key status">{ai.backendKeySet ? 'A key is stored (it is never shown).' : 'No key is stored.'}</dd>
      </dl>
      {replacing ? (
        <div className="stack">
          <TextField
            label="New provider key"
            type="password"
            autoComplete="new-password"
            value={key}
            onChange={setKey}
            error={keyError}
            required
            hint="Stored encrypted and sent by gateways in the vendor’s header; never shown again."
          />
          <div className="actions">
            <button
              type="button"
              className="btn btn-secondary btn-small"
              onClick={() => {
                setReplacing(false);
                setKey('');
                setKeyError(null);
              }}
            >
              Keep the stored key
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button type="button" className="btn btn-secondary" onClick={() => setReplacing(true)}>
            Replace key
          </button>
        </div>
      )}
      <ListEditor
        label="Models"
        itemLabel="Model"
        values={models}
        onChange={setModels}
        placeholder={EXAMPLE_MODELS[ai.vendor]}
        hint="The models consumers may name; several are used round robin, and a provider’s 429 or 5xx fails over to the next. None: the request’s model passes as it is."
      />
      <ListEditor label="Prompt guards" itemLabel="Prompt guard" values={guards} onChange={setGuards} errors={gErrs} monospace hint={GUARD_HINT} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save AI settings'}
        </button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </form>
  );
}
