import { useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { errorField, errorMessage } from '../../../lib/errors';
import { contextPath, hasErrors, name as nameCheck, version as versionCheck } from '../../../lib/validate';
import { TierPicker } from '../../apis/components/TierPicker';
import { clashingResources, type ProductResourcePick } from '../governance';
import { CreateAPIProductMutation, ProductSourceApisQuery } from '../queries';
import { PickedResources } from '../components/PickedResources';
import { ResourcePicker } from '../components/ResourcePicker';

type Key = 'name' | 'context' | 'version' | 'tiers' | 'resources';

/** The form field a server error names (input.resources[2] -> resources). */
export function productFieldKey(field: string | undefined): Key | undefined {
  if (!field) return undefined;
  const m = /^input\.(name|context|version|subscriptionTiers|resources)/.exec(field);
  if (!m) return undefined;
  return m[1] === 'subscriptionTiers' ? 'tiers' : (m[1] as Key);
}

export default function ProductCreate() {
  useTitle('Create API product · Publisher');
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [context, setContext] = useState('');
  const [version, setVersion] = useState('1.0.0');
  const [description, setDescription] = useState('');
  const [tiers, setTiers] = useState<string[]>(['Unlimited']);
  const [resources, setResources] = useState<ProductResourcePick[]>([]);
  const [errors, setErrors] = useState<Partial<Record<Key, string | null>>>({});
  const [result, create] = useMutation(CreateAPIProductMutation);
  const [{ data: apis }] = useQuery({ query: ProductSourceApisQuery, variables: { query: null } });
  const apiNames = Object.fromEntries((apis?.apis.edges ?? []).map((e) => [e.node.id, `${e.node.name} ${e.node.version}`]));
  const formRef = useRef<HTMLFormElement>(null);
  const serverKey = productFieldKey(errorField(result.error));
  const fieldError = (k: Key) => errors[k] ?? (serverKey === k ? errorMessage(result.error) : null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs = {
      name: nameCheck('Product name')(name),
      context: contextPath(context),
      version: versionCheck(version),
      tiers: tiers.length === 0 ? 'Choose at least one tier.' : null,
      resources:
        resources.length === 0
          ? 'Pick at least one resource.'
          : clashingResources(resources).length > 0
            ? 'Two APIs answer the same operation.'
            : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await create({
      input: {
        name: name.trim(),
        context: context.trim(),
        version: version.trim(),
        description: description.trim() || null,
        subscriptionTiers: tiers,
        resources,
      },
    });
    if (res.data) navigate(`/publisher/apis/${res.data.createAPIProduct.id}`);
  }

  return (
    <section className="page">
      <div className="page-header">
        <h1>Create an API product</h1>
      </div>
      <p className="muted">A product bundles operations of several APIs under one context, version and tiers; each is served by its own API's backend and policies.</p>
      <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Create API product">
        {result.error && !serverKey && <ErrorNotice error={result.error} title="Cannot create the product" />}
        <div className="grid-2">
          <TextField label="Product name" value={name} onChange={setName} error={fieldError('name')} required />
          <TextField label="Context" value={context} onChange={setContext} error={fieldError('context')} required placeholder="/shop" />
        </div>
        <div className="grid-2">
          <TextField label="Version" value={version} onChange={setVersion} error={fieldError('version')} required />
          <TextField label="Description" value={description} onChange={setDescription} />
        </div>
        <TierPicker value={tiers} onChange={setTiers} error={fieldError('tiers')} />
        <h3>Picked resources</h3>
        <PickedResources value={resources} onChange={setResources} apiNames={apiNames} />
        {fieldError('resources') && (
          <span className="field-error" role="alert">
            {fieldError('resources')}
          </span>
        )}
        <ResourcePicker value={resources} onChange={setResources} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={result.fetching}>
            {result.fetching ? 'Creating…' : 'Create product'}
          </button>
        </div>
      </form>
    </section>
  );
}
