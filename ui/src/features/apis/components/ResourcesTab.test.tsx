import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { makeFragmentData } from '../../../gql';
import { mockClient, withClient } from '../../../test/mockClient';
import { ApiResourcesFields } from '../queries';
import { ResourcesTab, validateResources } from './ResourcesTab';

const api = makeFragmentData(
  {
    id: 'api-1',
    resources: [
      {
        method: 'GET',
        path: '/pets',
        authRequired: true,
        scopes: [],
        throttlingPolicy: null,
        policies: [{ name: 'addHeader', flow: 'REQUEST', parameters: [{ name: 'name', value: 'X-A' }, { name: 'value', value: '1' }] }],
      },
      { method: 'POST', path: '/pets', authRequired: true, scopes: ['write:pets'], throttlingPolicy: null, policies: [] },
    ],
  },
  ApiResourcesFields,
);

describe('ResourcesTab', () => {
  it('edits, adds and removes rows and saves them with updateAPI', async () => {
    const { client, calls } = mockClient({
      AdvancedPolicies: { throttlingPolicies: [{ __typename: 'ThrottlingPolicy', name: 'HeaderLimit', description: null }] },
      UpdateApi: { updateAPI: null },
    });
    render(withClient(client, <ResourcesTab api={api} />));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText('Auth required for resource 1'));
    await user.click(screen.getByRole('button', { name: 'Add resource' }));
    const path3 = screen.getByLabelText('Path of resource 3');
    await user.clear(path3);
    await user.type(path3, '/pets/{{petId}');
    await user.selectOptions(screen.getByLabelText('Method of resource 3'), 'DELETE');
    await user.selectOptions(screen.getByLabelText('Throttling policy of resource 3'), 'HeaderLimit');
    await user.click(screen.getByRole('button', { name: /Remove resource 2/ }));
    await user.click(screen.getByRole('button', { name: 'Save resources' }));
    const call = calls.find((c) => c.name === 'UpdateApi');
    expect(call?.variables).toEqual({
      id: 'api-1',
      input: {
        resources: [
          {
            method: 'GET',
            path: '/pets',
            authRequired: false,
            scopes: [],
            throttlingPolicy: null,
            // The resource's policies go back as they were.
            policies: [{ name: 'addHeader', flow: 'REQUEST', parameters: [{ name: 'name', value: 'X-A' }, { name: 'value', value: '1' }] }],
          },
          { method: 'DELETE', path: '/pets/{petId}', authRequired: true, scopes: [], throttlingPolicy: 'HeaderLimit', policies: [] },
        ],
      },
    });
  });

  it('refuses invalid or duplicate paths without sending', async () => {
    const { client, calls } = mockClient({ AdvancedPolicies: { throttlingPolicies: [] } });
    render(withClient(client, <ResourcesTab api={api} />));
    const user = userEvent.setup({ delay: null });
    const path2 = screen.getByLabelText('Path of resource 2');
    await user.clear(path2);
    await user.type(path2, 'pets');
    await user.click(screen.getByRole('button', { name: 'Save resources' }));
    expect(screen.getByText('Path must start with /.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'UpdateApi')).toBe(false);
  });

  it('detects the same method and path twice', () => {
    expect(validateResources([
      { method: 'GET', path: '/a' },
      { method: 'GET', path: '/a' },
      { method: 'POST', path: '/a' },
    ])).toEqual({ 1: 'GET /a is already resource 1.' });
  });
});
