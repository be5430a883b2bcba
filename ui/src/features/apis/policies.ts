// The policy editor's model: attached policies as editable rows, their checks before a save,
// and where in the editor a server error about an input field belongs.
import type { AttachedPolicyInput, PolicyFlow } from '../../gql/graphql';

/** A built-in policy as policySpecs lists it. */
export interface PolicySpecLike {
  name: string;
  description: string;
  flows: readonly PolicyFlow[];
  parameters: readonly string[];
}

/** An attached policy as the API and its resources carry it. */
export interface AttachedPolicyLike {
  name: string;
  flow: PolicyFlow;
  parameters: ReadonlyArray<{ name: string; value: string }>;
}

/** One policy in the editor; key is stable across reordering. */
export interface PolicyRow {
  key: number;
  name: string;
  flow: PolicyFlow;
  params: Record<string, string>;
}

let nextKey = 1;

/** A fresh row key (keys only need to be unique within the page). */
export function newKey(): number {
  return nextKey++;
}

export function toRows(policies: readonly AttachedPolicyLike[] | null | undefined): PolicyRow[] {
  return (policies ?? []).map((p) => ({
    key: newKey(),
    name: p.name,
    flow: p.flow,
    params: Object.fromEntries(p.parameters.map((x) => [x.name, x.value])),
  }));
}

/** A new row for spec: its first flow, every parameter empty. */
export function rowFor(spec: PolicySpecLike): PolicyRow {
  return {
    key: newKey(),
    name: spec.name,
    flow: spec.flows[0] ?? 'REQUEST',
    params: Object.fromEntries(spec.parameters.map((p) => [p, ''])),
  };
}

/**
 * The mutation input for rows. Parameters go in the spec's order when the spec is known;
 * a policy whose spec is not listed keeps the parameters it had.
 */
export function toInput(rows: readonly PolicyRow[], specs: readonly PolicySpecLike[] = []): AttachedPolicyInput[] {
  return rows.map((r) => {
    const spec = specs.find((s) => s.name === r.name);
    const names = spec ? spec.parameters : Object.keys(r.params);
    return { name: r.name, flow: r.flow, parameters: names.map((n) => ({ name: n, value: r.params[n] ?? '' })) };
  });
}

/** Moves the row at i by delta (-1 up, +1 down); out of range leaves the list as it is. */
export function move<T>(rows: readonly T[], i: number, delta: number): T[] {
  const j = i + delta;
  if (i < 0 || i >= rows.length || j < 0 || j >= rows.length) return [...rows];
  const out = [...rows];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/** Where an error belongs: a list (null: the API's), a row in it, and a part of the row. */
export interface PolicyErrorAt {
  resource: number | null;
  index: number;
  /** "policy" (the policy itself or its name), "flow", or a parameter's name. */
  part: string;
}

/**
 * Reads a server error's field, such as input.policies[1].parameters.name or
 * input.resources[0].policies[2].flow; null for fields outside the policy lists.
 */
export function policyErrorAt(field: string | undefined): PolicyErrorAt | null {
  if (!field) return null;
  const m = /^(?:input\.)?(?:resources\[(\d+)\]\.)?policies\[(\d+)\](?:\.(name|flow|parameters\.([^.]+)|parameters))?$/.exec(field);
  if (!m) return null;
  return {
    resource: m[1] === undefined ? null : Number(m[1]),
    index: Number(m[2]),
    part: m[4] ?? (m[3] === 'flow' ? 'flow' : 'policy'),
  };
}

/** A key for the error maps: "api" or "r<index>", then the row index and part. */
export function errorKey(resource: number | null, index: number, part: string): string {
  return `${resource === null ? 'api' : `r${resource}`}/${index}/${part}`;
}

/** Parameters whose value may be empty (a header or query parameter set to ""). */
const MAY_BE_EMPTY = new Set(['value']);

/**
 * Checks one list before a save: each parameter the spec names is filled in, rewritePath
 * targets are absolute and stay under the backend's base path. Returns messages by errorKey.
 */
export function validatePolicies(
  rows: readonly PolicyRow[],
  specs: readonly PolicySpecLike[],
  resource: number | null,
): Record<string, string> {
  const errors: Record<string, string> = {};
  rows.forEach((r, i) => {
    const spec = specs.find((s) => s.name === r.name);
    if (!spec) return; // the server knows; it says so on save
    for (const p of spec.parameters) {
      const v = (r.params[p] ?? '').trim();
      if (v === '' && !MAY_BE_EMPTY.has(p)) {
        errors[errorKey(resource, i, p)] = `${r.name} needs ${p}.`;
        continue;
      }
      if ((p === 'name' && (r.name === 'addHeader' || r.name === 'removeHeader')) && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v)) {
        errors[errorKey(resource, i, p)] = `"${v}" is not a valid header name.`;
      }
      if (r.name === 'rewritePath' && p === 'path') {
        if (!v.startsWith('/')) errors[errorKey(resource, i, p)] = 'The path must start with /.';
        else if (v.split('/').some((seg) => seg === '..' || seg === '.')) {
          errors[errorKey(resource, i, p)] = 'The path may not leave the backend’s base path (no . or .. segments).';
        }
      }
    }
  });
  return errors;
}
