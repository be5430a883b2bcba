import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiGovernanceFieldsFragment, Visibility } from '../../../gql/graphql';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { ApiGovernanceFields, UpdateApiGovernanceMutation } from '../queries';
import { GroupsPicker } from './GroupsPicker';

/** Validates the access settings before sending: a RESTRICTED API needs at least one group. */
export function accessError(visibility: Visibility, visibleToGroups: string[]): string | null {
  return visibility === 'RESTRICTED' && visibleToGroups.length === 0 ? 'Choose at least one group that may see the API.' : null;
}

export function AccessTab(props: { api: FragmentType<typeof ApiGovernanceFields> }) {
  const api = getFragmentData(ApiGovernanceFields, props.api);
  const [saved, setSaved] = useState(false);
  return <AccessForm key={api.updatedAt} api={api} saved={saved} setSaved={setSaved} />;
}

function AccessForm({ api, saved, setSaved }: { api: ApiGovernanceFieldsFragment; saved: boolean; setSaved: (v: boolean) => void }) {
  const [visibility, setVisibility] = useState<Visibility>(api.visibility);
  const [visibleTo, setVisibleTo] = useState<string[]>(api.visibleToGroups);
  const [editableBy, setEditableBy] = useState<string[]>(api.editableByGroups);
  const [error, setError] = useState<string | null>(null);
  const [result, update] = useMutation(UpdateApiGovernanceMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const err = accessError(visibility, visibleTo);
    setError(err);
    if (err) return;
    const res = await update({
      id: api.id,
      input: { visibility, visibleToGroups: visibility === 'RESTRICTED' ? visibleTo : [], editableByGroups: editableBy },
    });
    if (res.data) setSaved(true);
  }

  return (
    <form className="form stack" onSubmit={onSubmit} noValidate aria-label="Visibility and access">
      <ErrorNotice error={result.error} title="Cannot save the access settings" />
      {saved && <SuccessNotice>Access settings saved.</SuccessNotice>}
      <fieldset className="fieldset">
        <legend>Visibility</legend>
        {(['PUBLIC', 'RESTRICTED'] as Visibility[]).map((v) => (
          <div key={v} className="field-check">
            <input id={`visibility-${v}`} type="radio" name="visibility" checked={visibility === v} onChange={() => setVisibility(v)} />
            <label htmlFor={`visibility-${v}`}>
              {v === 'PUBLIC' ? 'Public: everyone sees the API' : 'Restricted: only members of the chosen groups (and publishers, admins)'}
            </label>
          </div>
        ))}
      </fieldset>
      {visibility === 'RESTRICTED' && (
        <>
          <GroupsPicker legend="Visible to groups" value={visibleTo} onChange={setVisibleTo} />
          {error && (
            <span className="field-error" role="alert">
              {error}
            </span>
          )}
        </>
      )}
      <GroupsPicker
        legend="Editable by groups"
        value={editableBy}
        onChange={setEditableBy}
        hint="When any is chosen, only creators in these groups (and publishers, admins) may edit the API."
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          Save access settings
        </button>
      </div>
    </form>
  );
}
