import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import type { ConditionType, PolicyLimitType } from '../../../gql/graphql';
import { CheckboxField, SelectField, TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { CreatePolicyMutation, UpdatePolicyMutation } from '../queries';
import {
  CONDITION_TYPES,
  KEY_TEMPLATE_VARS,
  emptyCondition,
  emptyGroup,
  stateToInput,
  validatePolicy,
  type ConditionState,
  type GroupState,
  type PolicyErrors,
  type PolicyState,
} from '../policyForm';

const CONDITION_LABEL: Record<ConditionType, string> = {
  IP: 'IP address',
  IP_RANGE: 'IP range',
  HEADER: 'Header',
  QUERY_PARAMETER: 'Query parameter',
  JWT_CLAIM: 'JWT claim',
};

export function PolicyForm({
  initial,
  editing,
  onDone,
  onCancel,
}: {
  initial: PolicyState;
  editing: boolean;
  onDone: (name: string) => void;
  onCancel: () => void;
}) {
  const [s, setS] = useState<PolicyState>(initial);
  const [errors, setErrors] = useState<PolicyErrors>({});
  const [createResult, create] = useMutation(CreatePolicyMutation);
  const [updateResult, update] = useMutation(UpdatePolicyMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const result = editing ? updateResult : createResult;
  const set = (change: Partial<PolicyState>) => setS((x) => ({ ...x, ...change }));
  const setGroup = (gi: number, change: Partial<GroupState>) =>
    set({ conditionGroups: s.conditionGroups.map((g, i) => (i === gi ? { ...g, ...change } : g)) });
  const setCondition = (gi: number, ci: number, change: Partial<ConditionState>) =>
    setGroup(gi, { conditions: s.conditionGroups[gi].conditions.map((c, i) => (i === ci ? { ...c, ...change } : c)) });

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs = validatePolicy(s);
    setErrors(errs);
    if (Object.keys(errs).length) return focusFirstInvalid(formRef.current);
    const input = stateToInput(s);
    const res = editing ? await update({ input }) : await create({ input });
    if (res.data) onDone(input.name);
  }

  const kindLabel = s.kind.charAt(0) + s.kind.slice(1).toLowerCase();
  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label={editing ? `Edit policy ${s.name}` : `New ${kindLabel.toLowerCase()} policy`}>
      <h2>{editing ? `Edit ${s.name}` : `New ${kindLabel.toLowerCase()} policy`}</h2>
      <ErrorNotice error={result.error} title="Cannot save the policy" />
      <TextField label="Policy name" value={s.name} onChange={(v) => set({ name: v })} error={errors.name} required readOnly={editing} />
      <TextField label="Description" value={s.description} onChange={(v) => set({ description: v })} />
      <div className="grid-3">
        <SelectField
          label="Limit type"
          value={s.limitType}
          onChange={(v) => set({ limitType: v as PolicyLimitType })}
          error={errors.limitType}
          options={[
            { value: 'REQUEST_COUNT', label: 'Request count' },
            { value: 'BANDWIDTH', label: 'Bandwidth' },
            { value: 'GRAPHQL_COST', label: 'GraphQL query cost' },
            // Token quotas are per consumer: subscription and application policies only.
            ...(s.kind === 'SUBSCRIPTION' || s.kind === 'APPLICATION' ? [{ value: 'AI_TOKENS', label: 'AI tokens' }] : []),
          ]}
        />
        {s.limitType === 'AI_TOKENS' ? (
          <TextField
            label="Total token count"
            type="number"
            value={s.totalTokenCount}
            onChange={(v) => set({ totalTokenCount: v })}
            error={errors.totalTokenCount}
            hint="Prompt plus completion tokens per unit time, as the provider reports them; empty for no total limit."
          />
        ) : s.limitType === 'GRAPHQL_COST' ? (
          <TextField
            label="Cost count"
            type="number"
            value={s.costCount}
            onChange={(v) => set({ costCount: v })}
            error={errors.costCount}
            required
            hint="Query-cost units per unit time: a field costs 1, a list field multiplies its selection by first/last/limit."
          />
        ) : s.limitType === 'REQUEST_COUNT' ? (
          <TextField
            label="Request count"
            type="number"
            value={s.requestCount}
            onChange={(v) => set({ requestCount: v })}
            error={errors.requestCount}
            hint="Empty for unlimited."
          />
        ) : (
          <TextField
            label="Data amount (bytes)"
            type="number"
            value={s.dataAmountBytes}
            onChange={(v) => set({ dataAmountBytes: v })}
            error={errors.dataAmountBytes}
            required
          />
        )}
        <TextField
          label="Unit time (seconds)"
          type="number"
          value={s.unitTimeSeconds}
          onChange={(v) => set({ unitTimeSeconds: v })}
          error={errors.unitTimeSeconds}
          required
          hint="60 = per minute, 3600 = per hour."
        />
      </div>
      {s.limitType === 'AI_TOKENS' && (
        <div className="grid-2">
          <TextField
            label="Prompt token count"
            type="number"
            value={s.promptTokenCount}
            onChange={(v) => set({ promptTokenCount: v })}
            error={errors.promptTokenCount}
            hint="Prompt (input) tokens per unit time; empty for no limit."
          />
          <TextField
            label="Completion token count"
            type="number"
            value={s.completionTokenCount}
            onChange={(v) => set({ completionTokenCount: v })}
            error={errors.completionTokenCount}
            hint="Completion (output) tokens per unit time; empty for no limit."
          />
        </div>
      )}
      {s.kind === 'SUBSCRIPTION' && (
        <>
          <TextField
            label="Burst limit (requests per second)"
            type="number"
            value={s.burstLimitPerSecond}
            onChange={(v) => set({ burstLimitPerSecond: v })}
            error={errors.burstLimitPerSecond}
            hint="Empty for no burst control."
          />
          <div className="grid-2">
            <TextField
              label="GraphQL maximum depth"
              type="number"
              value={s.graphQLMaxDepth}
              onChange={(v) => set({ graphQLMaxDepth: v })}
              error={errors.graphQLMaxDepth}
              hint="The deepest selection a GraphQL query may have; empty for no limit."
            />
            <TextField
              label="GraphQL maximum complexity"
              type="number"
              value={s.graphQLMaxComplexity}
              onChange={(v) => set({ graphQLMaxComplexity: v })}
              error={errors.graphQLMaxComplexity}
              hint="The highest static cost of one GraphQL document; empty for no limit."
            />
          </div>
          <CheckboxField
            label="Stop on quota reach"
            checked={s.stopOnQuotaReach}
            onChange={(v) => set({ stopOnQuotaReach: v })}
            hint="Unchecked lets requests over the quota through, marked as overage."
          />
        </>
      )}
      <CheckboxField
        label="Fail closed"
        checked={s.failClosed}
        onChange={(v) => set({ failClosed: v })}
        hint="Reject requests when the traffic manager is unreachable."
      />
      {s.kind === 'CUSTOM' && (
        <TextField
          label="Key template"
          value={s.keyTemplate}
          onChange={(v) => set({ keyTemplate: v })}
          error={errors.keyTemplate}
          required
          monospace
          hint={`Variables: ${KEY_TEMPLATE_VARS.join(', ')}.`}
        />
      )}
      {s.kind === 'ADVANCED' && (
        <fieldset className="fieldset">
          <legend>Condition groups</legend>
          <p className="muted small">A group's limit applies to requests matching all its conditions; other requests get the default limit above.</p>
          {s.conditionGroups.map((g, gi) => {
            const gp = `groups.${gi}`;
            const gn = gi + 1;
            return (
              <fieldset key={g.key} className="fieldset group">
                <legend>Condition group {gn}</legend>
                <TextField label={`Description of group ${gn}`} value={g.description} onChange={(v) => setGroup(gi, { description: v })} />
                <div className="grid-2">
                  <TextField
                    label={`Request count of group ${gn}`}
                    type="number"
                    value={g.requestCount}
                    onChange={(v) => setGroup(gi, { requestCount: v })}
                    error={errors[`${gp}.requestCount`]}
                    required
                  />
                  <TextField
                    label={`Unit time of group ${gn} (seconds)`}
                    type="number"
                    value={g.unitTimeSeconds}
                    onChange={(v) => setGroup(gi, { unitTimeSeconds: v })}
                    error={errors[`${gp}.unitTimeSeconds`]}
                    required
                  />
                </div>
                {errors[`${gp}.conditions`] && <p className="field-error">{errors[`${gp}.conditions`]}</p>}
                {g.conditions.map((c, ci) => {
                  const cp = `${gp}.conditions.${ci}`;
                  const cn = `condition ${ci + 1} of group ${gn}`;
                  const named = c.type !== 'IP' && c.type !== 'IP_RANGE';
                  return (
                    <div key={c.key} className="condition-row">
                      <SelectField
                        label={`Type of ${cn}`}
                        value={c.type}
                        onChange={(v) => setCondition(gi, ci, { type: v as ConditionType })}
                        options={CONDITION_TYPES.map((t) => ({ value: t, label: CONDITION_LABEL[t] }))}
                      />
                      {named && (
                        <TextField
                          label={`Name of ${cn}`}
                          value={c.name}
                          onChange={(v) => setCondition(gi, ci, { name: v })}
                          error={errors[`${cp}.name`]}
                          required
                        />
                      )}
                      <TextField
                        label={`Value of ${cn}`}
                        value={c.value}
                        onChange={(v) => setCondition(gi, ci, { value: v })}
                        error={errors[`${cp}.value`]}
                        required
                        hint={named ? 'A regular expression.' : c.type === 'IP' ? 'Such as 10.0.0.1.' : 'Such as 10.0.0.0/8.'}
                      />
                      <CheckboxField label={`Invert ${cn}`} checked={c.invert} onChange={(v) => setCondition(gi, ci, { invert: v })} />
                      <button
                        type="button"
                        className="btn btn-secondary btn-small"
                        onClick={() => setGroup(gi, { conditions: g.conditions.filter((_, i) => i !== ci) })}
                      >
                        Remove {cn}
                      </button>
                    </div>
                  );
                })}
                <div className="actions">
                  <button type="button" className="btn btn-secondary btn-small" onClick={() => setGroup(gi, { conditions: [...g.conditions, emptyCondition()] })}>
                    Add condition to group {gn}
                  </button>
                  <button
                    type="button"
                    className="btn btn-danger btn-small"
                    onClick={() => set({ conditionGroups: s.conditionGroups.filter((_, i) => i !== gi) })}
                  >
                    Remove group {gn}
                  </button>
                </div>
              </fieldset>
            );
          })}
          <button type="button" className="btn btn-secondary" onClick={() => set({ conditionGroups: [...s.conditionGroups, emptyGroup()] })}>
            Add condition group
          </button>
        </fieldset>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : editing ? 'Save policy' : 'Create policy'}
        </button>
        <button type="button" className="btn btn-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
