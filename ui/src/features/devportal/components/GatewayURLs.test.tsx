import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { mockClient } from '../../../test/mockClient';
import { SessionProvider } from '../../auth/session';
import { GatewayURLs } from './GatewayURLs';

const environments = {
  environments: [
    { __typename: 'Environment', name: 'Default', displayName: 'Default', gatewayURLs: ['https://gw.example.com'] },
    { __typename: 'Environment', name: 'internal', displayName: 'Internal', gatewayURLs: ['https://in1.example.com', 'https://in2.example.com'] },
    { __typename: 'Environment', name: 'external', displayName: 'External', gatewayURLs: ['https://ext.example.com'] },
  ],
};

function setup(me: unknown, deployedTo: string[], fallback = ['https://gw.example.com']) {
  const { client, calls } = mockClient({ Me: { me }, DevEnvironments: environments });
  render(
    <MemoryRouter>
      <SessionProvider client={client}>
        <GatewayURLs deployedTo={deployedTo} fallback={fallback} />
      </SessionProvider>
    </MemoryRouter>,
  );
  return calls;
}

const user = { __typename: 'User', id: 'u1', username: 'dev', email: null, roles: ['SUBSCRIBER'] };

describe('GatewayURLs', () => {
  it('shows the URLs of each environment the API is deployed to', async () => {
    setup(user, ['internal', 'Default']);
    const internal = await screen.findByRole('region', { name: 'Environment Internal' });
    expect(within(internal).getAllByRole('listitem').map((li) => li.querySelector('code')?.textContent)).toEqual([
      'https://in1.example.com',
      'https://in2.example.com',
    ]);
    expect(within(screen.getByRole('region', { name: 'Environment Default' })).getByText('https://gw.example.com')).toBeTruthy();
    expect(screen.queryByText('https://ext.example.com')).toBeNull();
  });

  it('falls back to the API’s gateway URLs for anonymous visitors, who may not list environments', async () => {
    const calls = setup(null, ['internal'], ['https://in1.example.com']);
    expect(await screen.findByText('https://in1.example.com')).toBeTruthy();
    expect(screen.queryByRole('region')).toBeNull();
    expect(calls.some((c) => c.name === 'DevEnvironments')).toBe(false);
  });

  it('says when the API is deployed nowhere', async () => {
    setup(user, []);
    expect(await screen.findByText('Not deployed to any gateway environment.')).toBeTruthy();
  });
});
