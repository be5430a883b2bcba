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
    type: 'HTTP',
    graphQLSchema: null,
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

  it('edits a GraphQL API’s operations: kinds for methods, root fields for paths', async () => {
    const gqlApi = makeFragmentData(
      {
        __typename: 'API',
        id: 'g1',
        type: 'GRAPHQL',
        graphQLSchema: 'type Query { books: [String] book(id: ID!): String } type Mutation { addBook(t: String): String }',
        resources: [{ __typename: 'Resource', method: 'QUERY', path: 'books', authRequired: true, scopes: [], throttlingPolicy: null, policies: [] }],
      } as never,
      ApiResourcesFields,
    );
    const { client, calls } = mockClient({ AdvancedPolicies: { throttlingPolicies: [] }, UpdateApi: { updateAPI: null } });
    render(withClient(client, <ResourcesTab api={gqlApi} />));
    const user = userEvent.setup({ delay: null });
    const methods = [...(screen.getByLabelText('Method of resource 1') as HTMLSelectElement).options].map((o) => o.value);
    expect(methods).toEqual(['QUERY', 'MUTATION', 'SUBSCRIPTION']);
    await user.click(screen.getByRole('button', { name: 'Add resource' }));
    // The new row is the first root field without a resource.
    expect((screen.getByLabelText('Field of resource 2') as HTMLInputElement).value).toBe('book');
    await user.click(screen.getByRole('button', { name: 'Add resource' }));
    expect((screen.getByLabelText('Method of resource 3') as HTMLSelectElement).value).toBe('MUTATION');
    await user.selectOptions(screen.getByLabelText('Method of resource 3'), 'QUERY');
    await user.click(screen.getByRole('button', { name: 'Save resources' }));
    expect(screen.getByText('The schema has no query field addBook.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'UpdateApi')).toBe(false);
    await user.selectOptions(screen.getByLabelText('Method of resource 3'), 'MUTATION');
    await user.type(screen.getByLabelText('Scopes of resource 3'), 'write:books');
    await user.click(screen.getByRole('button', { name: 'Save resources' }));
    expect((calls.find((c) => c.name === 'UpdateApi')?.variables as { input: { resources: unknown[] } }).input.resources).toEqual([
      { method: 'QUERY', path: 'books', authRequired: true, scopes: [], throttlingPolicy: null, policies: [] },
      { method: 'QUERY', path: 'book', authRequired: true, scopes: [], throttlingPolicy: null, policies: [] },
      { method: 'MUTATION', path: 'addBook', authRequired: true, scopes: ['write:books'], throttlingPolicy: null, policies: [] },
    ]);
  });
});
