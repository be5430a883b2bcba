import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { BlockingConditionType } from '../../../gql/graphql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { SelectField, TextField } from '../../../components/Field';
import { Badge } from '../../../components/Badge';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { formatTime } from '../../../lib/files';
import { contextPath } from '../../../lib/validate';
import { isCIDR, isIP } from '../policyForm';
import {
  AddBlockingConditionMutation,
  BlockingConditionsQuery,
  DeleteBlockingConditionMutation,
  SetBlockingConditionEnabledMutation,
} from '../queries';
import { typenames } from '../../../lib/typenames';

const TYPES: Array<{ value: BlockingConditionType; label: string; hint: string }> = [
  { value: 'API', label: 'API', hint: 'An API context, such as /pets.' },
  { value: 'APPLICATION', label: 'Application', hint: 'An application id.' },
  { value: 'USER', label: 'User', hint: 'A username.' },
  { value: 'IP', label: 'IP address', hint: 'Such as 203.0.113.7.' },
  { value: 'IP_RANGE', label: 'IP range', hint: 'A CIDR range, such as 203.0.113.0/24.' },
];

export function validateBlockingValue(type: BlockingConditionType, value: string): string | null {
  const v = value.trim();
  if (!v) return 'Value is required.';
  if (type === 'API') return contextPath(v);
  if (type === 'IP' && !isIP(v)) return 'Enter an IP address.';
  if (type === 'IP_RANGE' && !isCIDR(v)) return 'Enter a CIDR range, such as 203.0.113.0/24.';
  return null;
}

export default function BlockingConditions() {
  useTitle('Blocking conditions · Admin');
  const [{ data, fetching, error }, refetch] = useQuery({
    query: BlockingConditionsQuery,
    context: typenames('BlockingCondition'),
  });
  const [toggleResult, setEnabled] = useMutation(SetBlockingConditionEnabledMutation);
  const [deleteResult, deleteCondition] = useMutation(DeleteBlockingConditionMutation);
  const [addResult, add] = useMutation(AddBlockingConditionMutation);
  const [type, setType] = useState<BlockingConditionType>('IP');
  const [value, setValue] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const conditions = data?.blockingConditions ?? [];

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const err = validateBlockingValue(type, value);
    setFieldError(err);
    if (err) return;
    const res = await add({ input: { type, value: value.trim(), enabled: true } });
    if (res.data) setValue('');
  }

  return (
    <section className="page">
      <div className="page-header">
        <h1>Blocking conditions</h1>
      </div>
      <p className="muted">Requests matching an enabled condition are rejected by every gateway.</p>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      <ErrorNotice error={toggleResult.error || deleteResult.error} title="Cannot change the condition" />
      {fetching && !data && <Loading label="Loading blocking conditions…" />}
      {data && conditions.length === 0 && <Empty>No blocking conditions.</Empty>}
      {conditions.length > 0 && (
        <table className="table" aria-label="Blocking conditions">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Value</th>
              <th scope="col">State</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {conditions.map((c) => (
              <tr key={c.id}>
                <td>{TYPES.find((t) => t.value === c.type)?.label ?? c.type}</td>
                <td className="mono">{c.value}</td>
                <td>
                  <Badge tone={c.enabled ? 'enabled' : 'disabled'}>{c.enabled ? 'Enabled' : 'Disabled'}</Badge>
                </td>
                <td>{formatTime(c.createdAt)}</td>
                <td className="actions">
                  <button
                    type="button"
                    className="btn btn-secondary btn-small"
                    disabled={toggleResult.fetching}
                    aria-label={`${c.enabled ? 'Disable' : 'Enable'} ${c.type} ${c.value}`}
                    onClick={() => setEnabled({ id: c.id, enabled: !c.enabled })}
                  >
                    {c.enabled ? 'Disable' : 'Enable'}
                  </button>
                  <ConfirmButton
                    label="Delete" ariaLabel={`Delete ${c.type} ${c.value}`}
                    confirmLabel="Confirm delete"
                    question={`Delete the condition on ${c.value}?`}
                    onConfirm={() => deleteCondition({ id: c.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="form card form-inline" onSubmit={onSubmit} noValidate aria-label="Add blocking condition">
        <h2>Add a condition</h2>
        <ErrorNotice error={addResult.error} title="Cannot add the condition" />
        {addResult.data && <SuccessNotice>Added.</SuccessNotice>}
        <SelectField
          label="Condition type"
          value={type}
          onChange={(v) => setType(v as BlockingConditionType)}
          options={TYPES.map((t) => ({ value: t.value, label: t.label }))}
        />
        <TextField
          label="Condition value"
          value={value}
          onChange={setValue}
          error={fieldError}
          required
          hint={TYPES.find((t) => t.value === type)?.hint}
        />
        <button type="submit" className="btn btn-primary" disabled={addResult.fetching}>
          Add condition
        </button>
      </form>
    </section>
  );
}
