import { useState } from 'react';
import { useMutation } from 'urql';
import { ErrorNotice } from '../../../components/States';
import { canChangeTier } from '../governance';
import { ChangeSubscriptionTierMutation } from '../queries';

/** Changes a subscription's tier; the answer says whether it took effect or awaits approval. */
export function TierChange({
  subscription,
  tiers,
  apiName,
}: {
  subscription: { id: string; tier: string; status: string; pendingTier?: string | null };
  tiers: string[];
  apiName: string;
}) {
  const others = tiers.filter((t) => t !== subscription.tier);
  const [tier, setTier] = useState(others[0] ?? '');
  const [result, change] = useMutation(ChangeSubscriptionTierMutation);
  const [outcome, setOutcome] = useState<string | null>(null);
  if (!canChangeTier(subscription) || others.length === 0) return null;
  const id = `tier-change-${subscription.id}`;
  const chosen = others.includes(tier) ? tier : others[0];
  return (
    <div className="tier-change">
      <label htmlFor={id} className="sr-only">
        New tier for {apiName}
      </label>
      <select id={id} value={chosen} onChange={(e) => setTier(e.target.value)}>
        {others.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>{' '}
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={result.fetching}
        aria-label={`Change tier of ${apiName}`}
        onClick={async () => {
          setOutcome(null);
          const res = await change({ id: subscription.id, tier: chosen });
          const s = res.data?.changeSubscriptionTier;
          if (s) setOutcome(s.pendingTier ? `Change to ${s.pendingTier} awaits approval.` : `Now on ${s.tier}.`);
        }}
      >
        Change tier
      </button>
      {outcome && (
        <span className="muted small" role="status">
          {' '}
          {outcome}
        </span>
      )}
      <ErrorNotice error={result.error} title="Cannot change the tier" />
    </div>
  );
}
