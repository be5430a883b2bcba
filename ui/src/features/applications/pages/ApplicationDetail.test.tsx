import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { mockClient, withClient } from '../../../test/mockClient';
import ApplicationDetail from './ApplicationDetail';
import { nextFrame } from '../../../test/frames';

const app = {
  __typename: 'Application',
  id: 'app-1',
  name: 'Mobile',
  description: 'The phone app',
  throttlingPolicy: 'Unlimited',
  createdAt: '2024-01-01T00:00:00Z',
  status: 'APPROVED',
  statusReason: null,
  owner: { __typename: 'User', id: 'u1', username: 'alice' },
  keys: [],
  apiKeys: [],
  subscriptions: [],
};

const policies = {
  throttlingPolicies: [
    { __typename: 'ThrottlingPolicy', name: 'Unlimited', description: null, requestCount: null, unitTimeSeconds: 60 },
    { __typename: 'ThrottlingPolicy', name: '10PerMin', description: null, requestCount: 10, unitTimeSeconds: 60 },
  ],
};

type Answers = Parameters<typeof mockClient>[0];

function renderPage(answers: Answers = {}) {
  const { client, calls } = mockClient({ ApplicationDetail: { application: app }, ApplicationPolicies: policies, ...answers });
  render(
    withClient(
      client,
      <Routes>
        <Route path="/devportal/applications/:id" element={<ApplicationDetail />} />
      </Routes>,
      '/devportal/applications/app-1',
    ),
  );
  return { calls, user: userEvent.setup({ delay: null }) };
}

const form = () => screen.getByRole('form', { name: 'Edit application' });
const updates = (calls: Array<{ name: string; variables: Record<string, unknown> }>) => calls.filter((c) => c.name === 'UpdateApplication');

describe('ApplicationDetail: edit the application', () => {
  it('opens a form filled with the application, and validates before sending', async () => {
    const { calls, user } = renderPage();
    await user.click(await screen.findByRole('button', { name: 'Edit application' }));
    const f = within(form());
    const name = f.getByLabelText('Application name') as HTMLInputElement;
    expect(name.value).toBe('Mobile');
    expect(document.activeElement).toBe(name);
    expect((f.getByLabelText('Application policy') as HTMLSelectElement).value).toBe('Unlimited');
    expect((f.getByLabelText('Description') as HTMLTextAreaElement).value).toBe('The phone app');

    await user.clear(name);
    await user.type(name, '   ');
    await user.click(f.getByRole('button', { name: 'Save changes' }));
    expect(f.getByText('Application name is required.')).toBeTruthy();
    expect(name.getAttribute('aria-invalid')).toBe('true');
    await nextFrame();

    await user.clear(name);
    await user.click(name);
    await user.paste('x'.repeat(101));
    const description = f.getByLabelText('Description');
    await user.clear(description);
    await user.click(description);
    await user.paste('d'.repeat(1001));
    await user.click(f.getByRole('button', { name: 'Save changes' }));
    expect(f.getByText('Application name must be at most 100 characters.')).toBeTruthy();
    expect(f.getByText('Description must be at most 1000 characters (it has 1001).')).toBeTruthy();
    expect(updates(calls)).toHaveLength(0);
  });

  it('sends only what changed, then closes the form and says so', async () => {
    const { calls, user } = renderPage({
      UpdateApplication: (v) => ({
        updateApplication: { __typename: 'Application', id: v.id, name: 'Mobile 2', description: null, throttlingPolicy: '10PerMin' },
      }),
    });
    await user.click(await screen.findByRole('button', { name: 'Edit application' }));
    const f = within(form());
    await user.clear(f.getByLabelText('Application name'));
    await user.type(f.getByLabelText('Application name'), ' Mobile 2 ');
    await user.selectOptions(f.getByLabelText('Application policy'), '10PerMin');
    await user.clear(f.getByLabelText('Description'));
    await user.click(f.getByRole('button', { name: 'Save changes' }));
    // An emptied description is sent as "" (null would leave it unchanged).
    expect(updates(calls)[0].variables).toEqual({ id: 'app-1', input: { name: 'Mobile 2', throttlingPolicy: '10PerMin', description: '' } });
    expect((await screen.findByText('Saved Mobile 2.')).getAttribute('role')).toBe('status');
    expect(screen.queryByRole('form', { name: 'Edit application' })).toBeNull();
  });

  it('closes without sending when nothing changed, and on Cancel', async () => {
    const { calls, user } = renderPage();
    await user.click(await screen.findByRole('button', { name: 'Edit application' }));
    await user.click(within(form()).getByRole('button', { name: 'Save changes' }));
    expect(screen.queryByRole('form', { name: 'Edit application' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Edit application' }));
    await user.type(within(form()).getByLabelText('Application name'), ' changed');
    await user.click(within(form()).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('form', { name: 'Edit application' })).toBeNull();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Mobile');
    expect(updates(calls)).toHaveLength(0);
  });

  it('shows the server’s error: on top, or at the field it names', async () => {
    let answer: Record<string, unknown> = { __error: 'you already have an application named "Web"' };
    const { calls, user } = renderPage({ UpdateApplication: () => answer });
    await user.click(await screen.findByRole('button', { name: 'Edit application' }));
    const f = within(form());
    await user.clear(f.getByLabelText('Application name'));
    await user.type(f.getByLabelText('Application name'), 'Web');
    await user.click(f.getByRole('button', { name: 'Save changes' }));
    expect((await f.findByRole('alert')).textContent).toBe('Cannot save the application: you already have an application named "Web"');
    expect(form()).toBeTruthy();

    answer = { __error: 'input.throttlingPolicy: no APPLICATION policy named "10PerMin"', __extensions: { code: 'BAD_USER_INPUT', field: 'input.throttlingPolicy' } };
    await user.selectOptions(f.getByLabelText('Application policy'), '10PerMin');
    await user.click(f.getByRole('button', { name: 'Save changes' }));
    expect(await f.findByText('no APPLICATION policy named "10PerMin"')).toBeTruthy();
    expect(f.getByLabelText('Application policy').getAttribute('aria-invalid')).toBe('true');
    expect(f.queryByRole('alert')).toBeNull();
    expect(updates(calls)).toHaveLength(2);
    // Changing the field clears the server's complaint.
    await user.selectOptions(f.getByLabelText('Application policy'), 'Unlimited');
    expect(f.queryByText('no APPLICATION policy named "10PerMin"')).toBeNull();
  });
});

const sub = (id: string, status: string, tier: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'Subscription',
  id,
  tier,
  status,
  pendingTier: null,
  statusReason: null,
  createdAt: '2024-01-02T00:00:00Z',
  api: {
    __typename: 'API',
    id: `api-${id}`,
    name: `Pets ${id}`,
    version: '1.0',
    context: '/pets',
    lifecycleState: 'PUBLISHED',
    type: 'HTTP',
    subscriptionTiers: ['Bronze', 'Gold'],
  },
  ...extra,
});

describe('ApplicationDetail: approval states', () => {
  it('disables keys while the application is pending', async () => {
    renderPage({ ApplicationDetail: { application: { ...app, status: 'PENDING' } } });
    expect((await screen.findByText(/Waiting for approval: keys can be generated once/)).textContent).toBeTruthy();
    expect(screen.getByText('Keys are disabled: only approved applications can get keys.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Generate production keys/ })).toBeNull();
  });

  it('shows why the application was rejected', async () => {
    renderPage({ ApplicationDetail: { application: { ...app, status: 'REJECTED', statusReason: 'not a partner' } } });
    expect(await screen.findByText(/The application was rejected: not a partner/)).toBeTruthy();
  });

  it('shows ON_HOLD and rejected subscriptions with their reason, and a pending tier change', async () => {
    renderPage({
      ApplicationDetail: {
        application: {
          ...app,
          subscriptions: [
            sub('s1', 'ON_HOLD', 'Bronze'),
            sub('s2', 'REJECTED', 'Gold', { statusReason: 'quota exhausted' }),
            sub('s3', 'ACTIVE', 'Bronze', { pendingTier: 'Gold' }),
          ],
        },
      },
    });
    const table = await screen.findByRole('table', { name: 'Subscriptions' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows[0].textContent).toMatch(/ON_HOLD.*Waiting for approval/);
    expect(rows[1].textContent).toMatch(/REJECTED.*Reason: quota exhausted/);
    expect(rows[2].textContent).toMatch(/Bronze \(→ Gold pending\)/);
    expect(rows[2].textContent).toMatch(/Change to Gold awaits approval; Bronze stays in force meanwhile/);
    // No tier change offered while one is pending or the subscription is not active.
    expect(within(table).queryByRole('button', { name: /Change tier/ })).toBeNull();
  });

  it('changes the tier of an active subscription and says when it awaits approval', async () => {
    const { calls, user } = renderPage({
      ApplicationDetail: { application: { ...app, subscriptions: [sub('s1', 'ACTIVE', 'Bronze')] } },
      ChangeSubscriptionTier: (v) => ({
        changeSubscriptionTier: { __typename: 'Subscription', id: v.id, tier: 'Bronze', status: 'ACTIVE', pendingTier: v.tier, statusReason: null },
      }),
    });
    expect(((await screen.findByLabelText('New tier for Pets s1')) as HTMLSelectElement).value).toBe('Gold');
    await user.click(screen.getByRole('button', { name: 'Change tier of Pets s1' }));
    expect(calls.find((c) => c.name === 'ChangeSubscriptionTier')?.variables).toEqual({ id: 's1', tier: 'Gold' });
    expect(await screen.findByText('Change to Gold awaits approval.')).toBeTruthy();
  });
});
