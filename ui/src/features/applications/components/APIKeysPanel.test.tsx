import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import { APIKeysPanel, type ListedAPIKey } from './APIKeysPanel';

const future = '2099-01-01T00:00:00Z';
const listed: ListedAPIKey[] = [
  { id: 'k-active', label: 'build server', keyType: 'PRODUCTION', createdAt: '2026-01-01T00:00:00Z', expiresAt: future, revokedAt: null },
  { id: 'k-revoked', label: null, keyType: 'SANDBOX', createdAt: '2026-01-02T00:00:00Z', expiresAt: future, revokedAt: '2026-01-03T00:00:00Z' },
];

describe('APIKeysPanel', () => {
  it('generates a labelled key, shows it once, and asks for the list again', async () => {
    const { client, calls } = mockClient({
      GenerateAPIKey: { generateAPIKey: { __typename: 'APIKey', id: 'k-new', key: 'eyJ.the-key.sig', expiresAt: future } },
    });
    const onChanged = vi.fn();
    render(withClient(client, <APIKeysPanel applicationId="app-1" apiKeys={[]} onChanged={onChanged} />));
    expect(screen.getByText('No API keys yet.')).toBeTruthy();
    await userEvent.type(screen.getByLabelText(/Label/), 'ci');
    await userEvent.type(screen.getByLabelText(/Validity/), '30');
    await userEvent.click(screen.getByRole('button', { name: 'Generate API key' }));
    expect(calls.find((c) => c.name === 'GenerateAPIKey')?.variables).toEqual({
      applicationId: 'app-1',
      keyType: 'PRODUCTION',
      validityDays: 30,
      label: 'ci',
    });
    expect(await screen.findByText('eyJ.the-key.sig')).toBeTruthy();
    expect(screen.getByText(/will not be shown again/)).toBeTruthy();
    expect(onChanged).toHaveBeenCalledOnce();
  });

  it('refuses a bad validity without calling the server', async () => {
    const { client, calls } = mockClient({});
    render(withClient(client, <APIKeysPanel applicationId="app-1" apiKeys={[]} onChanged={() => {}} />));
    await userEvent.type(screen.getByLabelText(/Validity/), '5000');
    await userEvent.click(screen.getByRole('button', { name: 'Generate API key' }));
    expect(screen.getByText('Between 1 and 1095 days.')).toBeTruthy();
    expect(calls.filter((c) => c.name === 'GenerateAPIKey')).toHaveLength(0);
  });

  it('lists keys and revokes an active one after confirmation', async () => {
    const { client, calls } = mockClient({ RevokeAPIKey: { revokeAPIKey: true } });
    const onChanged = vi.fn();
    render(withClient(client, <APIKeysPanel applicationId="app-1" apiKeys={listed} onChanged={onChanged} />));
    const table = screen.getByRole('table', { name: 'API keys' });
    expect(table.textContent).toContain('build server');
    expect(table.textContent).toContain('Revoked');
    // Only the active key can be revoked.
    expect(screen.getAllByRole('button', { name: /^Revoke API key/ })).toHaveLength(1);
    await userEvent.click(screen.getByRole('button', { name: 'Revoke API key build server' }));
    await userEvent.click(screen.getByRole('button', { name: 'Confirm revoke' }));
    expect(calls.find((c) => c.name === 'RevokeAPIKey')?.variables).toEqual({ applicationId: 'app-1', id: 'k-active' });
    expect(onChanged).toHaveBeenCalledOnce();
  });
});
