import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { makeFragmentData } from '../../../gql';
import { mockClient, withClient } from '../../../test/mockClient';
import { ApiPoliciesFields, ApiResourcesFields } from '../queries';
import { PoliciesTab } from './PoliciesTab';

const specs = {
  policySpecs: [
    { name: 'addHeader', description: 'Sets a header.', flows: ['REQUEST', 'RESPONSE'], parameters: ['name', 'value'] },
    { name: 'removeHeader', description: 'Removes a header.', flows: ['REQUEST', 'RESPONSE'], parameters: ['name'] },
    { name: 'addQueryParam', description: 'Adds a query parameter.', flows: ['REQUEST'], parameters: ['name', 'value'] },
    { name: 'removeQueryParam', description: 'Removes a query parameter.', flows: ['REQUEST'], parameters: ['name'] },
    { name: 'rewritePath', description: 'Rewrites the path.', flows: ['REQUEST'], parameters: ['path'] },
  ],
};

const api = makeFragmentData(
  { id: 'api-1', policies: [{ name: 'removeHeader', flow: 'RESPONSE', parameters: [{ name: 'name', value: 'Server' }] }] },
  ApiPoliciesFields,
);

const resources = makeFragmentData(
  {
    id: 'api-1',
    type: 'HTTP',
    graphQLSchema: null,
    resources: [
      { method: 'GET', path: '/pets', authRequired: true, scopes: [], throttlingPolicy: null, policies: [] },
      {
        method: 'GET',
        path: '/pets/{petId}',
        authRequired: false,
        scopes: ['read:pets'],
        throttlingPolicy: 'HeaderLimit',
        policies: [{ name: 'addQueryParam', flow: 'REQUEST', parameters: [{ name: 'name', value: 'src' }, { name: 'value', value: 'gw' }] }],
      },
    ],
  },
  ApiResourcesFields,
);

describe('PoliciesTab', () => {
  it('adds, fills, reorders and removes policies and saves them with the resources', async () => {
    const { client, calls } = mockClient({ PolicySpecs: specs, UpdateApi: { updateAPI: null } });
    render(withClient(client, <PoliciesTab api={api} resources={resources} />));
    const user = userEvent.setup({ delay: null });

    // API level: add addHeader on REQUEST, fill it in, and move it above the existing policy.
    const apiList = screen.getByRole('region', { name: 'Policies on the API' });
    expect(within(apiList).getByText('removeHeader')).toBeTruthy();
    await user.selectOptions(within(apiList).getByLabelText('Policy to add to the API'), 'addHeader');
    await user.click(within(apiList).getByRole('button', { name: 'Add policy to the API' }));
    await user.type(screen.getByLabelText('name of policy 2 on the API'), 'X-Turnpike-Test');
    await user.type(screen.getByLabelText('value of policy 2 on the API'), 'hello');
    expect((screen.getByLabelText('Flow of policy 2 on the API') as HTMLSelectElement).value).toBe('REQUEST');
    expect((screen.getByRole('button', { name: 'Move policy 1 on the API up' }) as HTMLButtonElement).disabled).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Move policy 2 on the API up' }));
    expect((screen.getByLabelText('name of policy 1 on the API') as HTMLInputElement).value).toBe('X-Turnpike-Test');

    // Resource level: a rewritePath on /pets/{petId}; the query parameter policy goes.
    await user.selectOptions(screen.getByLabelText('Policy to add to GET /pets/{petId}'), 'rewritePath');
    await user.click(screen.getByRole('button', { name: 'Add policy to GET /pets/{petId}' }));
    await user.type(screen.getByLabelText('path of policy 2 on GET /pets/{petId}'), '/v2/animals/{{petId}');
    await user.click(screen.getByRole('button', { name: 'Remove policy 1 (addQueryParam) on GET /pets/{petId}' }));

    await user.click(screen.getByRole('button', { name: 'Save policies' }));
    const call = calls.find((c) => c.name === 'UpdateApi');
    expect(call?.variables).toEqual({
      id: 'api-1',
      input: {
        policies: [
          { name: 'addHeader', flow: 'REQUEST', parameters: [{ name: 'name', value: 'X-Turnpike-Test' }, { name: 'value', value: 'hello' }] },
          { name: 'removeHeader', flow: 'RESPONSE', parameters: [{ name: 'name', value: 'Server' }] },
        ],
        // The resources go back whole: updateAPI replaces the list.
        resources: [
          { method: 'GET', path: '/pets', authRequired: true, scopes: [], throttlingPolicy: null, policies: [] },
          {
            method: 'GET',
            path: '/pets/{petId}',
            authRequired: false,
            scopes: ['read:pets'],
            throttlingPolicy: 'HeaderLimit',
            policies: [{ name: 'rewritePath', flow: 'REQUEST', parameters: [{ name: 'path', value: '/v2/animals/{petId}' }] }],
          },
        ],
      },
    });
  });

  it('refuses an empty header name or a path with .. without sending', async () => {
    const { client, calls } = mockClient({ PolicySpecs: specs });
    render(withClient(client, <PoliciesTab api={api} resources={resources} />));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Add policy to GET /pets' }));
    await user.selectOptions(screen.getByLabelText('Policy to add to GET /pets/{petId}'), 'rewritePath');
    await user.click(screen.getByRole('button', { name: 'Add policy to GET /pets/{petId}' }));
    await user.type(screen.getByLabelText('path of policy 2 on GET /pets/{petId}'), '/../admin');
    await user.click(screen.getByRole('button', { name: 'Save policies' }));
    expect(screen.getByText('addHeader needs name.')).toBeTruthy();
    expect(screen.getByLabelText('name of policy 1 on GET /pets').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('The path may not leave the backend’s base path (no . or .. segments).')).toBeTruthy();
    expect(calls.some((c) => c.name === 'UpdateApi')).toBe(false);
  });

  it('shows the server’s BAD_USER_INPUT next to the field it names', async () => {
    const message = 'input.resources[1].policies[0].parameters.value: the value has control characters';
    const { client } = mockClient({
      PolicySpecs: specs,
      UpdateApi: { __error: message, __extensions: { code: 'BAD_USER_INPUT', field: 'input.resources[1].policies[0].parameters.value' } },
    });
    render(withClient(client, <PoliciesTab api={api} resources={resources} />));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Save policies' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', `Cannot save the policies: ${message}`);
    const field = screen.getByLabelText('value of policy 1 on GET /pets/{petId}');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(field.getAttribute('aria-describedby') ?? '')?.textContent).toBe('the value has control characters');
  });
});
