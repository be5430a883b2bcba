import { useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { getFragmentData } from '../../../gql';
import type { PolicyKind } from '../../../gql/graphql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { RouteTabs } from '../../../components/Tabs';
import { useTitle } from '../../../components/useTitle';
import { PolicyForm } from '../components/PolicyForm';
import { describeLimit, emptyPolicy, policyToState } from '../policyForm';
import { DeletePolicyMutation, PoliciesQuery, PolicyFields } from '../queries';
import { typenames } from '../../../lib/typenames';

const KINDS: Array<{ id: string; kind: PolicyKind; label: string }> = [
  { id: 'subscription', kind: 'SUBSCRIPTION', label: 'Subscription' },
  { id: 'application', kind: 'APPLICATION', label: 'Application' },
  { id: 'advanced', kind: 'ADVANCED', label: 'Advanced' },
  { id: 'custom', kind: 'CUSTOM', label: 'Custom' },
];

export default function Policies() {
  const { kind: kindId = 'subscription' } = useParams();
  const navigate = useNavigate();
  const tab = KINDS.find((k) => k.id === kindId) ?? KINDS[0];
  useTitle(`${tab.label} policies · Admin`);
  const [editing, setEditing] = useState<string | 'new' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    setEditing(null);
    setNotice(null);
  }, [tab.id]);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: PoliciesQuery,
    variables: { kind: tab.kind },
    context: typenames('ThrottlingPolicy'),
  });
  const [deleteResult, deletePolicy] = useMutation(DeletePolicyMutation);
  const policies = (data?.throttlingPolicies ?? []).map((p) => getFragmentData(PolicyFields, p));
  const editedPolicy = editing && editing !== 'new' ? policies.find((p) => p.name === editing) : undefined;

  return (
    <section className="page">
      <div className="page-header">
        <h1>Throttling policies</h1>
      </div>
      <RouteTabs
        label="Policy kinds"
        current={tab.id}
        tabs={KINDS.map((k) => ({ id: k.id, label: k.label, to: `/admin/policies/${k.id}` }))}
      >
        <div key={tab.id} className="stack">
          <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
          <ErrorNotice error={deleteResult.error} title="Cannot delete the policy" />
          {notice && <SuccessNotice>{notice}</SuccessNotice>}
          {fetching && !data && <Loading label="Loading policies…" />}
          {data && policies.length === 0 && <Empty>No {tab.label.toLowerCase()} policies yet.</Empty>}
          {policies.length > 0 && (
            <table className="table" aria-label={`${tab.label} policies`}>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Limit</th>
                  {tab.kind === 'SUBSCRIPTION' && <th scope="col">Burst</th>}
                  {tab.kind === 'ADVANCED' && <th scope="col">Condition groups</th>}
                  {tab.kind === 'CUSTOM' && <th scope="col">Key template</th>}
                  <th scope="col">In use</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {policies.map((p) => (
                  <tr key={p.name}>
                    <td>
                      {p.name}
                      {p.description && <div className="muted small">{p.description}</div>}
                    </td>
                    <td>{describeLimit(p)}</td>
                    {tab.kind === 'SUBSCRIPTION' && <td>{p.burstLimitPerSecond != null ? `${p.burstLimitPerSecond}/s` : '—'}</td>}
                    {tab.kind === 'ADVANCED' && <td>{p.conditionGroups.length}</td>}
                    {tab.kind === 'CUSTOM' && <td className="mono">{p.keyTemplate}</td>}
                    <td>{p.inUse ? 'Yes' : 'No'}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="btn btn-secondary btn-small"
                        aria-label={`Edit ${p.name}`}
                        onClick={() => {
                          setNotice(null);
                          setEditing(p.name);
                        }}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete" ariaLabel={`Delete ${p.name}`}
                        confirmLabel="Confirm delete"
                        question={`Delete the policy ${p.name}?`}
                        disabled={p.inUse}
                        onConfirm={async () => {
                          const res = await deletePolicy({ kind: p.kind, name: p.name });
                          if (res.data?.deleteThrottlingPolicy) setNotice(`Deleted ${p.name}.`);
                        }}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {editing === null ? (
            <div>
              <button
                type="button"
                className="btn btn-primary"
                onClick={() => {
                  setNotice(null);
                  setEditing('new');
                }}
              >
                New {tab.label.toLowerCase()} policy
              </button>
            </div>
          ) : (
            <PolicyForm
              key={`${tab.kind}-${editing}`}
              editing={editing !== 'new'}
              initial={editedPolicy ? policyToState(editedPolicy) : emptyPolicy(tab.kind)}
              onCancel={() => setEditing(null)}
              onDone={(name) => {
                setNotice(editing === 'new' ? `Created ${name}.` : `Saved ${name}.`);
                setEditing(null);
                refetch({ requestPolicy: 'network-only' });
                navigate(`/admin/policies/${tab.id}`, { replace: true });
              }}
            />
          )}
        </div>
      </RouteTabs>
    </section>
  );
}
