import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { ApiTiersFields, UpdateApiMutation } from '../queries';
import { TierPicker } from './TierPicker';

export function TiersTab(props: { api: FragmentType<typeof ApiTiersFields> }) {
  const api = getFragmentData(ApiTiersFields, props.api);
  const [tiers, setTiers] = useState<string[]>(api.subscriptionTiers);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [result, update] = useMutation(UpdateApiMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (tiers.length === 0) {
      setError('Choose at least one tier.');
      return;
    }
    setError(null);
    const res = await update({ id: api.id, input: { subscriptionTiers: tiers } });
    if (res.data) setSaved(true);
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="Subscription tiers">
      <ErrorNotice error={result.error} title="Cannot save the tiers" />
      {saved && <SuccessNotice>Tiers saved.</SuccessNotice>}
      <TierPicker
        value={tiers}
        onChange={(t) => {
          setSaved(false);
          setTiers(t);
        }}
        error={error}
        legend="Tiers offered to subscribers"
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Saving…' : 'Save tiers'}
        </button>
      </div>
    </form>
  );
}
