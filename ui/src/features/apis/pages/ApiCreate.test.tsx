import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import ApiCreate from './ApiCreate';

const tiers = {
  throttlingPolicies: [
    { __typename: 'ThrottlingPolicy', name: 'Unlimited', description: null, requestCount: null, unitTimeSeconds: 60 },
    { __typename: 'ThrottlingPolicy', name: 'Gold', description: null, requestCount: 5000, unitTimeSeconds: 60 },
  ],
};

describe('ApiCreate', () => {
  it('validates context and endpoint before sending', async () => {
    const { client, calls } = mockClient({ SubscriptionTiers: tiers });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/^Name/), 'Pets');
    await user.type(screen.getByLabelText(/^Context/), 'pets');
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'ftp://x');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(screen.getByText('Context must start with /.')).toBeTruthy();
    expect(screen.getByText('URL must start with http:// or https://.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'CreateApi')).toBe(false);
  });

  it('sends createAPI with the chosen tiers and tags', async () => {
    const { client, calls } = mockClient({ SubscriptionTiers: tiers, CreateApi: { createAPI: { __typename: 'API', id: 'a1', name: 'Pets' } } });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/^Name/), 'Pets');
    await user.type(screen.getByLabelText(/^Context/), '/pets');
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'http://127.0.0.1:9000');
    await user.type(screen.getByLabelText(/^Tags/), 'animals, store');
    await user.click(await screen.findByLabelText(/^Gold/));
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(calls.find((c) => c.name === 'CreateApi')?.variables).toEqual({
      input: {
        name: 'Pets',
        context: '/pets',
        version: '1.0.0',
        description: null,
        endpoints: { type: 'SINGLE', production: ['http://127.0.0.1:9000'], sandbox: [] },
        subscriptionTiers: ['Unlimited', 'Gold'],
        tags: ['animals', 'store'],
      },
    });
  });

  it('creates a GraphQL API from SDL, listing its operations, and shows the server’s SDL error beside the field', async () => {
    let attempt = 0;
    const { client, calls } = mockClient({
      SubscriptionTiers: tiers,
      CreateApi: () =>
        ++attempt === 1
          ? { __error: 'the SDL does not load: line 1:30: Undefined type Nope.', __extensions: { code: 'BAD_USER_INPUT', field: 'input.graphQLSchema' } }
          : { createAPI: { __typename: 'API', id: 'g1', name: 'Books' } },
    });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText(/^API type/), 'GRAPHQL');
    await user.type(screen.getByLabelText(/^Name/), 'Books');
    await user.type(screen.getByLabelText(/^Context/), '/books');
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'http://127.0.0.1:9000/graphql');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(screen.getByText(/Paste the backend’s SDL/)).toBeTruthy();
    expect(calls.some((c) => c.name === 'CreateApi')).toBe(false);
    const sdlBox = screen.getByLabelText(/^Schema \(SDL\)/);
    // userEvent treats { and [ as key descriptors: paste the SDL instead.
    await user.click(sdlBox);
    await user.paste('type Query { books(first: Int): [Nope] book(id: ID!): String } type Mutation { addBook(title: String!): String }');
    const ops = screen.getByRole('region', { name: 'Operations' });
    expect(ops.textContent).toContain('QUERY books');
    expect(ops.textContent).toContain('MUTATION addBook');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(await screen.findByText(/Undefined type Nope/)).toBeTruthy();
    expect(screen.getByLabelText(/^Schema \(SDL\)/).getAttribute('aria-invalid')).toBe('true');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    const sent = calls.filter((c) => c.name === 'CreateApi').at(-1)?.variables as { input: Record<string, unknown> };
    expect(sent.input).toMatchObject({
      type: 'GRAPHQL',
      graphQLSchema: expect.stringContaining('type Mutation'),
      endpoints: { type: 'SINGLE', production: ['http://127.0.0.1:9000/graphql'], sandbox: [] },
    });
  });

  it('fetches the schema from the endpoint, and says why when it cannot', async () => {
    const { client, calls } = mockClient({
      SubscriptionTiers: tiers,
      GraphQLSchemaFromEndpoint: (v) =>
        String(v.url).includes('down')
          ? { __error: 'the endpoint did not answer', __extensions: { code: 'BAD_USER_INPUT', field: 'url' } }
          : { graphQLSchemaFromEndpoint: 'type Query {\n  hello: String\n}\n' },
    });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText(/^API type/), 'GRAPHQL');
    await user.click(screen.getByRole('button', { name: /Fetch schema/ }));
    expect(screen.getByText(/Enter the endpoint URL to fetch its schema/)).toBeTruthy();
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'http://down.example/graphql');
    await user.click(screen.getByRole('button', { name: /Fetch schema/ }));
    expect(await screen.findByText(/Cannot fetch the schema: the endpoint did not answer/)).toBeTruthy();
    await user.clear(screen.getByLabelText(/^Endpoint URL/));
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'http://up.example/graphql');
    await user.click(screen.getByRole('button', { name: /Fetch schema/ }));
    expect(await screen.findByDisplayValue(/hello: String/)).toBeTruthy();
    expect(screen.getByRole('region', { name: 'Operations' }).textContent).toContain('QUERY hello');
    expect(calls.filter((c) => c.name === 'GraphQLSchemaFromEndpoint').map((c) => c.variables.url)).toEqual([
      'http://down.example/graphql',
      'http://up.example/graphql',
    ]);
  });

  it('takes ws:// endpoints for WebSocket APIs and event counting for SSE APIs', async () => {
    const { client, calls } = mockClient({ SubscriptionTiers: tiers, CreateApi: { createAPI: { __typename: 'API', id: 'w1', name: 'Chat' } } });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/^Name/), 'Chat');
    await user.type(screen.getByLabelText(/^Context/), '/chat');
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'ws://127.0.0.1:9001/echo');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(screen.getByText('URL must start with http:// or https://.')).toBeTruthy();
    await user.selectOptions(screen.getByLabelText(/^API type/), 'WS');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect((calls.find((c) => c.name === 'CreateApi')?.variables as { input: Record<string, unknown> }).input).toMatchObject({
      type: 'WS',
      endpoints: { production: ['ws://127.0.0.1:9001/echo'] },
    });
    expect(screen.queryByLabelText(/^Count events/)).toBeNull();
    await user.selectOptions(screen.getByLabelText(/^API type/), 'SSE');
    await user.click(screen.getByLabelText(/^Count events/));
    await user.clear(screen.getByLabelText(/^Endpoint URL/));
    await user.type(screen.getByLabelText(/^Endpoint URL/), 'http://127.0.0.1:9002/events');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect((calls.filter((c) => c.name === 'CreateApi').at(-1)?.variables as { input: Record<string, unknown> }).input).toMatchObject({
      type: 'SSE',
      countEvents: true,
    });
  });
});
