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
});
