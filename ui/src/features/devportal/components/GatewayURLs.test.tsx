import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { mockClient } from '../../../test/mockClient';
import { SessionProvider } from '../../auth/session';
import { GatewayURLs, apiGatewayURLs, useDeployedGatewayURLs } from './GatewayURLs';

const environments = {
  environments: [
    { __typename: 'Environment', name: 'Default', displayName: 'Default', gatewayURLs: ['https://gw.example.com'] },
    { __typename: 'Environment', name: 'internal', displayName: 'Internal', gatewayURLs: ['https://in1.example.com/', 'https://in2.example.com'] },
    { __typename: 'Environment', name: 'external', displayName: 'External', gatewayURLs: ['https://ext.example.com'] },
  ],
};

type Api = Parameters<typeof useDeployedGatewayURLs>[0];

/** The API page's use: the URLs per environment, and all of them for the try-it console. */
function Harness({ api }: { api: Api }) {
  const deployed = useDeployedGatewayURLs(api);
  return (
    <>
      <GatewayURLs deployed={deployed} />
      <output aria-label="Try-it gateways">{deployed.all.join(' ')}</output>
    </>
  );
}

function setup(me: unknown, deployedTo: string[], isDefaultVersion = false) {
  const api: Api = {
    context: '/pets',
    version: '1.0.0',
    isDefaultVersion,
    gatewayURLs: ['https://gw.example.com/pets/1.0.0'],
    deployments: deployedTo.map((environment) => ({ environment })),
  };
  const { client, calls } = mockClient({ Me: { me }, DevEnvironments: environments });
  render(
    <MemoryRouter>
      <SessionProvider client={client}>
        <Harness api={api} />
      </SessionProvider>
    </MemoryRouter>,
  );
  return calls;
}

const user = { __typename: 'User', id: 'u1', username: 'dev', email: null, roles: ['SUBSCRIBER'] };
const codes = (el: HTMLElement) => [...el.querySelectorAll('code')].map((c) => c.textContent);

describe('apiGatewayURLs', () => {
  it('builds <base><context>/<version>, and <base><context> for the default version, as the server does', () => {
    expect(apiGatewayURLs(['https://a.example.com/', 'http://b:8280'], '/pets', '2.0', false)).toEqual([
      'https://a.example.com/pets/2.0',
      'http://b:8280/pets/2.0',
    ]);
    expect(apiGatewayURLs(['https://a.example.com'], '/pets', '2.0', true)).toEqual(['https://a.example.com/pets/2.0', 'https://a.example.com/pets']);
  });
});

describe('GatewayURLs', () => {
  it('shows the URLs of each environment the API is deployed to, and offers them to try-it', async () => {
    setup(user, ['internal', 'Default'], true);
    const internal = await screen.findByRole('region', { name: 'Environment Internal' });
    expect(codes(internal)).toEqual([
      'https://in1.example.com/pets/1.0.0',
      'https://in1.example.com/pets',
      'https://in2.example.com/pets/1.0.0',
      'https://in2.example.com/pets',
    ]);
    expect(codes(screen.getByRole('region', { name: 'Environment Default' }))).toEqual(['https://gw.example.com/pets/1.0.0', 'https://gw.example.com/pets']);
    expect(screen.queryByText(/ext\.example\.com/)).toBeNull();
    expect(screen.getByRole('status', { name: 'Try-it gateways' }).textContent).toBe(
      'https://gw.example.com/pets/1.0.0 https://gw.example.com/pets https://in1.example.com/pets/1.0.0 https://in1.example.com/pets https://in2.example.com/pets/1.0.0 https://in2.example.com/pets',
    );
  });

  it('shows anonymous visitors the environments too, which anyone may list', async () => {
    setup(null, ['internal']);
    const internal = await screen.findByRole('region', { name: 'Environment Internal' });
    expect(codes(internal)).toEqual(['https://in1.example.com/pets/1.0.0', 'https://in2.example.com/pets/1.0.0']);
  });

  it('falls back to the API’s gateway URLs for an environment the list lacks', async () => {
    setup(user, ['gone']);
    expect(await screen.findByText('https://gw.example.com/pets/1.0.0', { selector: 'code' })).toBeTruthy();
    expect(screen.queryByRole('region')).toBeNull();
  });

  it('says when the API is deployed nowhere, and offers try-it no gateway', async () => {
    setup(user, []);
    expect(await screen.findByText('Not deployed to any gateway environment.')).toBeTruthy();
    expect(screen.getByRole('status', { name: 'Try-it gateways' }).textContent).toBe('');
  });
});
