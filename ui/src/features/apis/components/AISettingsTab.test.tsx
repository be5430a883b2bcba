import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import { AISettingsTab } from './AISettingsTab';

const api = { __typename: 'API', id: 'ai1', ai: { __typename: 'AIConfig', vendor: 'OPENAI', models: ['gpt-4o'], promptGuard: [], backendKeySet: true } } as never;

describe('AISettingsTab', () => {
  it('says a key is stored without a field for it, and sends a new key only when replacing', async () => {
    const updated = { updateAPI: { __typename: 'API', id: 'ai1', updatedAt: '2026-12-03T00:00:00Z', ai: null, mcp: null } };
    const { client, calls } = mockClient({ UpdateApiAI: updated });
    render(withClient(client, <AISettingsTab api={api} />));
    const user = userEvent.setup({ delay: null });
    expect(screen.getByLabelText('Provider key status').textContent).toMatch(/A key is stored/);
    expect(screen.queryByLabelText(/provider key$/i)).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Add model' }));
    await user.type(screen.getByLabelText('Model 2'), 'gpt-4o-mini');
    await user.click(screen.getByRole('button', { name: 'Save AI settings' }));
    expect(calls.find((c) => c.name === 'UpdateApiAI')?.variables).toEqual({ id: 'ai1', input: { ai: { models: ['gpt-4o', 'gpt-4o-mini'], promptGuard: [] } } });

    await user.click(screen.getByRole('button', { name: 'Replace key' }));
    const key = screen.getByLabelText(/^New provider key/) as HTMLInputElement;
    expect(key.type).toBe('password');
    await user.click(screen.getByRole('button', { name: 'Save AI settings' }));
    expect(screen.getByText(/Enter the new provider key/)).toBeTruthy();
    await user.type(key, 'sk-new');
    await user.click(screen.getByRole('button', { name: 'Save AI settings' }));
    const last = calls.filter((c) => c.name === 'UpdateApiAI').at(-1)?.variables as { input: { ai: Record<string, unknown> } };
    expect(last.input.ai.backendKey).toBe('sk-new');
    expect(await screen.findByRole('button', { name: 'Replace key' })).toBeTruthy();
  });
});
