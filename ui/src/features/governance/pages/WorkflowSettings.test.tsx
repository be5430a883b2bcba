import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import WorkflowSettings from './WorkflowSettings';

type Answers = Parameters<typeof mockClient>[0];

const settings = (on: string[] = []) => ({
  workflowSettings: ['USER_SIGNUP', 'APPLICATION_CREATION', 'SUBSCRIPTION_CREATION', 'SUBSCRIPTION_UPDATE', 'API_STATE_CHANGE'].map((type) => ({
    __typename: 'WorkflowSetting',
    type,
    approvalRequired: on.includes(type),
  })),
  workflowWebhook: { __typename: 'WorkflowWebhook', url: 'https://hooks.example.com/t', secretSet: true },
});

function setup(answers: Answers = {}) {
  const { client, calls } = mockClient({ WorkflowSettings: settings(['USER_SIGNUP']), ...answers });
  render(withClient(client, <WorkflowSettings />));
  return { calls, user: userEvent.setup({ delay: null }) };
}

describe('WorkflowSettings', () => {
  it('shows a switch per type and turns one on', async () => {
    const { calls, user } = setup({
      SetWorkflowApproval: (v) => ({ setWorkflowApproval: { __typename: 'WorkflowSetting', type: v.type, approvalRequired: v.required } }),
    });
    expect(((await screen.findByRole('switch', { name: 'User sign-up' })) as HTMLInputElement).checked).toBe(true);
    const sub = screen.getByRole('switch', { name: 'Subscription creation' }) as HTMLInputElement;
    expect(sub.checked).toBe(false);
    await user.click(sub);
    expect(sub.checked).toBe(true);
    expect(calls.find((c) => c.name === 'SetWorkflowApproval')?.variables).toEqual({ type: 'SUBSCRIPTION_CREATION', required: true });
  });

  it('goes back and says why when the change fails', async () => {
    const { user } = setup({ SetWorkflowApproval: { __error: 'not allowed', __extensions: { code: 'FORBIDDEN' } } });
    const sub = (await screen.findByRole('switch', { name: 'Subscription creation' })) as HTMLInputElement;
    await user.click(sub);
    expect((await screen.findByRole('alert')).textContent).toBe('Cannot change the setting: not allowed');
    expect(sub.checked).toBe(false);
  });

  it('never shows the secret, keeps it when left empty, and validates the URL', async () => {
    const { calls, user } = setup({
      SetWorkflowWebhook: (v) => ({ setWorkflowWebhook: { __typename: 'WorkflowWebhook', url: v.url, secretSet: true } }),
    });
    const url = (await screen.findByLabelText('Webhook URL')) as HTMLInputElement;
    expect(url.value).toBe('https://hooks.example.com/t');
    expect((screen.getByLabelText('Signing secret') as HTMLInputElement).value).toBe('');
    expect(screen.getByText(/A secret is stored/)).toBeTruthy();
    await user.clear(url);
    await user.type(url, 'hooks');
    await user.click(screen.getByRole('button', { name: 'Save webhook' }));
    expect(screen.getByText('Enter a URL, such as https://hooks.example.com/turnpike.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'SetWorkflowWebhook')).toBe(false);
    await user.clear(url);
    await user.type(url, 'https://hooks.example.com/new');
    await user.click(screen.getByRole('button', { name: 'Save webhook' }));
    expect(calls.find((c) => c.name === 'SetWorkflowWebhook')?.variables).toEqual({ url: 'https://hooks.example.com/new', secret: null });
    expect(await screen.findByText('Webhook saved.')).toBeTruthy();
  });
});
