import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import { KeysPanel } from './KeysPanel';

describe('KeysPanel', () => {
  it('generates keys and shows the secret once, with a copy button', async () => {
    const { client, calls } = mockClient({
      GenerateKeys: {
        generateKeys: {
          __typename: 'ApplicationKeys',
          keyType: 'PRODUCTION',
          consumerKey: 'ck-1',
          consumerSecret: 'cs-secret',
          grantTypes: ['client_credentials'],
          createdAt: '2024-01-01T00:00:00Z',
        },
      },
    });
    const { rerender } = render(withClient(client, <KeysPanel applicationId="app-1" applicationName="Mobile" keyType="PRODUCTION" keys={undefined} />));
    await userEvent.click(screen.getByRole('button', { name: 'Generate production keys' }));
    expect(calls.find((c) => c.name === 'GenerateKeys')?.variables).toEqual({
      applicationId: 'app-1',
      keyType: 'PRODUCTION',
      grantTypes: ['client_credentials'],
    });
    expect(await screen.findByText('cs-secret')).toBeTruthy();
    expect(screen.getByText('ck-1')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy consumer secret' })).toBeTruthy();
    expect(screen.getByText(/will not be shown again/)).toBeTruthy();

    // Another visit (a fresh panel with the stored keys) has no secret to show.
    rerender(
      withClient(
        client,
        <KeysPanel
          key="again"
          applicationId="app-1"
          applicationName="Mobile"
          keyType="PRODUCTION"
          keys={{ keyType: 'PRODUCTION', consumerKey: 'ck-1', grantTypes: ['client_credentials'], createdAt: '2024-01-01T00:00:00Z' }}
        />,
      ),
    );
    expect(screen.queryByText('cs-secret')).toBeNull();
    expect(screen.getByLabelText(/Production consumer secret/)).toBeTruthy();
  });
});
