import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { errorField } from '../../../lib/errors';
import { hasErrors, maxLength, name as nameCheck } from '../../../lib/validate';
import { ApplicationPoliciesQuery, UpdateApplicationMutation } from '../queries';

export const MAX_NAME = 100;
export const MAX_DESCRIPTION = 1000;

export interface EditableApplication {
  id: string;
  name: string;
  description?: string | null;
  throttlingPolicy: string;
}

type Errors = Partial<Record<'name' | 'policy' | 'description', string | null>>;

/** The server's field names (extensions.field) mapped to the form's. */
const SERVER_FIELDS: Record<string, keyof Errors> = {
  'input.name': 'name',
  'input.throttlingPolicy': 'policy',
  'input.description': 'description',
};

/**
 * Edits an application's name, policy and description. Only the fields that changed are
 * sent (an emptied description is sent as "" and clears it). `onDone(savedName)` closes the
 * form: with the new name after a save, with null on Cancel or when nothing changed.
 */
export function EditApplicationForm({ app, onDone }: { app: EditableApplication; onDone: (savedName: string | null) => void }) {
  const [{ data: policies, error: policyError }] = useQuery({ query: ApplicationPoliciesQuery });
  const [name, setName] = useState(app.name);
  const [policy, setPolicy] = useState(app.throttlingPolicy);
  const [description, setDescription] = useState(app.description ?? '');
  const [errors, setErrors] = useState<Errors>({});
  const [sent, setSent] = useState<Record<keyof Errors, string>>();
  const [result, update] = useMutation(UpdateApplicationMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const titleId = useId();

  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('input, select, textarea')?.focus();
  }, []);

  const listed = policies?.throttlingPolicies ?? [];
  const options = listed.map((p) => ({
    value: p.name,
    label: p.requestCount == null ? `${p.name} (unlimited)` : `${p.name} (${p.requestCount} requests / ${p.unitTimeSeconds} s)`,
  }));
  // The current policy stays choosable while the list loads, or if it is no longer listed.
  if (!listed.some((p) => p.name === app.throttlingPolicy)) options.unshift({ value: app.throttlingPolicy, label: app.throttlingPolicy });

  // The server's complaint about one field shows at that field (until that field is
  // edited); anything else shows on top of the form.
  const values = { name, policy, description };
  const blamed = SERVER_FIELDS[errorField(result.error) ?? ''];
  const serverMessage = result.error?.graphQLErrors[0]?.message.replace(/^input\.\w+: /, '');
  const shown: Errors =
    blamed && sent && values[blamed] === sent[blamed] ? { ...errors, [blamed]: errors[blamed] || serverMessage } : errors;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs: Errors = {
      name: nameCheck('Application name', MAX_NAME)(name),
      policy: policy ? null : 'Choose a policy.',
      description: maxLength('Description', MAX_DESCRIPTION)(description),
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const input: { name?: string; throttlingPolicy?: string; description?: string } = {};
    if (name.trim() !== app.name) input.name = name.trim();
    if (policy !== app.throttlingPolicy) input.throttlingPolicy = policy;
    if (description.trim() !== (app.description ?? '')) input.description = description.trim();
    if (Object.keys(input).length === 0) return onDone(null);
    setSent(values);
    const res = await update({ id: app.id, input });
    if (res.data) onDone(res.data.updateApplication.name);
    else if (SERVER_FIELDS[errorField(res.error) ?? '']) focusFirstInvalid(formRef.current);
  }

  return (
    <form
      ref={formRef}
      className="form card"
      onSubmit={onSubmit}
      noValidate
      aria-labelledby={titleId}
    >
      <h2 id={titleId}>Edit application</h2>
      {!blamed && <ErrorNotice error={result.error} title="Cannot save the application" />}
      <ErrorNotice error={policyError} title="Cannot load the policies" />
      <TextField label="Application name" value={name} onChange={setName} error={shown.name} required />
      <SelectField
        label="Application policy"
        value={policy}
        onChange={setPolicy}
        error={shown.policy}
        required
        options={options}
        hint="Limits the requests of all the application's subscriptions together."
      />
      <TextField
        label="Description"
        value={description}
        onChange={setDescription}
        error={shown.description}
        multiline
        rows={3}
        hint={`Optional; at most ${MAX_DESCRIPTION} characters. Empty it to remove the description.`}
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save changes'}
        </button>
        <button type="button" className="btn btn-secondary" onClick={() => onDone(null)} disabled={result.fetching}>
          Cancel
        </button>
      </div>
    </form>
  );
}
