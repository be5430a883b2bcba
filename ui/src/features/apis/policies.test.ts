import { describe, expect, it } from 'vitest';
import { errorKey, move, policyErrorAt, rowFor, toInput, toRows, validatePolicies, type PolicyRow, type PolicySpecLike } from './policies';

const specs: PolicySpecLike[] = [
  { name: 'addHeader', description: 'Sets a header.', flows: ['REQUEST', 'RESPONSE'], parameters: ['name', 'value'] },
  { name: 'removeHeader', description: 'Removes a header.', flows: ['REQUEST', 'RESPONSE'], parameters: ['name'] },
  { name: 'rewritePath', description: 'Rewrites the path.', flows: ['REQUEST'], parameters: ['path'] },
];

describe('policies', () => {
  it('reads a server error field into a list, a row and a part', () => {
    expect(policyErrorAt('input.policies[1].parameters.name')).toEqual({ resource: null, index: 1, part: 'name' });
    expect(policyErrorAt('input.resources[2].policies[0].parameters.path')).toEqual({ resource: 2, index: 0, part: 'path' });
    expect(policyErrorAt('input.resources[0].policies[3].flow')).toEqual({ resource: 0, index: 3, part: 'flow' });
    expect(policyErrorAt('input.policies[0].name')).toEqual({ resource: null, index: 0, part: 'policy' });
    expect(policyErrorAt('input.policies[0]')).toEqual({ resource: null, index: 0, part: 'policy' });
    expect(policyErrorAt('input.resources[0].path')).toBeNull();
    expect(policyErrorAt('input.responseCache.ttlSeconds')).toBeNull();
    expect(policyErrorAt(undefined)).toBeNull();
  });

  it('moves rows up and down, and leaves the ends alone', () => {
    expect(move(['a', 'b', 'c'], 2, -1)).toEqual(['a', 'c', 'b']);
    expect(move(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(move(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c']);
    expect(move(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'b', 'c']);
  });

  it('round-trips attached policies, parameters in the spec order', () => {
    const rows = toRows([{ name: 'addHeader', flow: 'RESPONSE', parameters: [{ name: 'value', value: 'v' }, { name: 'name', value: 'X-A' }] }]);
    expect(rows[0]).toMatchObject({ name: 'addHeader', flow: 'RESPONSE', params: { name: 'X-A', value: 'v' } });
    expect(toInput(rows, specs)).toEqual([
      { name: 'addHeader', flow: 'RESPONSE', parameters: [{ name: 'name', value: 'X-A' }, { name: 'value', value: 'v' }] },
    ]);
    // A policy the specs do not list keeps its parameters.
    expect(toInput(toRows([{ name: 'legacy', flow: 'REQUEST', parameters: [{ name: 'x', value: '1' }] }]), specs)).toEqual([
      { name: 'legacy', flow: 'REQUEST', parameters: [{ name: 'x', value: '1' }] },
    ]);
  });

  it('starts a new row with the spec’s first flow and empty parameters', () => {
    expect(rowFor(specs[2])).toMatchObject({ name: 'rewritePath', flow: 'REQUEST', params: { path: '' } });
  });

  it('refuses missing parameters, bad header names and paths leaving the base path', () => {
    const rows: PolicyRow[] = [
      { key: 1, name: 'addHeader', flow: 'REQUEST', params: { name: '', value: '' } },
      { key: 2, name: 'removeHeader', flow: 'REQUEST', params: { name: 'Bad Header' } },
      { key: 3, name: 'rewritePath', flow: 'REQUEST', params: { path: '/v2/../admin' } },
      { key: 4, name: 'rewritePath', flow: 'REQUEST', params: { path: 'v2' } },
      { key: 5, name: 'addHeader', flow: 'REQUEST', params: { name: 'X-Ok', value: '' } },
    ];
    expect(validatePolicies(rows, specs, 1)).toEqual({
      [errorKey(1, 0, 'name')]: 'addHeader needs name.',
      [errorKey(1, 1, 'name')]: '"Bad Header" is not a valid header name.',
      [errorKey(1, 2, 'path')]: 'The path may not leave the backend’s base path (no . or .. segments).',
      [errorKey(1, 3, 'path')]: 'The path must start with /.',
    });
  });
});
