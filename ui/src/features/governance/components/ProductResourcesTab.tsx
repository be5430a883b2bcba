import { useState } from 'react';
import { useMutation } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { ApiGovernanceFieldsFragment } from '../../../gql/graphql';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { clashingResources, resourceKey, type ProductResourcePick } from '../governance';
import { ApiGovernanceFields, UpdateApiGovernanceMutation } from '../queries';
import { PickedResources } from './PickedResources';
import { ResourcePicker } from './ResourcePicker';

/** A product's bundled resources: list, add from existing APIs, remove, save (replaces them all). */
export function ProductResourcesTab(props: { api: FragmentType<typeof ApiGovernanceFields> }) {
  const api = getFragmentData(ApiGovernanceFields, props.api);
  const [saved, setSaved] = useState(false);
  return <ProductResourcesForm key={api.updatedAt} api={api} saved={saved} setSaved={setSaved} />;
}

function ProductResourcesForm({ api, saved, setSaved }: { api: ApiGovernanceFieldsFragment; saved: boolean; setSaved: (v: boolean) => void }) {
  const initial = api.productResources.map((r) => ({ apiId: r.apiId, method: r.method, path: r.path }));
  const [resources, setResources] = useState<ProductResourcePick[]>(initial);
  const [error, setError] = useState<string | null>(null);
  const [result, update] = useMutation(UpdateApiGovernanceMutation);
  const apiNames = Object.fromEntries(api.productResources.filter((r) => r.api).map((r) => [r.apiId, `${r.api!.name} ${r.api!.version}`]));
  const dirty = resources.map(resourceKey).join('|') !== initial.map(resourceKey).join('|');
  return (
    <div className="stack">
      <ErrorNotice error={result.error} title="Cannot save the resources" />
      {saved && !dirty && <SuccessNotice>Resources saved.</SuccessNotice>}
      <h2>Bundled resources</h2>
      <PickedResources value={resources} onChange={setResources} apiNames={apiNames} />
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!dirty || result.fetching}
          onClick={async () => {
            setSaved(false);
            const err = resources.length === 0 ? 'A product needs at least one resource.' : clashingResources(resources).length ? 'Two APIs answer the same operation.' : null;
            setError(err);
            if (err) return;
            const res = await update({ id: api.id, input: { productResources: resources } });
            if (res.data) setSaved(true);
          }}
        >
          Save resources
        </button>
      </div>
      <h2>Add resources</h2>
      <ResourcePicker value={resources} onChange={setResources} excludeApiId={api.id} />
    </div>
  );
}
