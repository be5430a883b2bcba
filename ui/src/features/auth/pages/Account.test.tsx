import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { mockClient } from '../../../test/mockClient';
import { Shell } from '../../../components/Shell';
import { SessionProvider } from '../session';
import Account from './Account';
import { nextFrame } from '../../../test/frames';

const me = { me: { __typename: 'User', id: 'u1', username: 'alice', email: 'alice@example.com', roles: ['SUBSCRIBER'] } };
type Answers = Parameters<typeof mockClient>[0];

/** The real Shell and session around the account page, at `path`. */
function renderApp(answers: Answers = {}, path = '/devportal/account') {
  const { client, calls } = mockClient({ Me: me, ...answers });
  render(
    <MemoryRouter initialEntries={[path]}>
      <SessionProvider client={client}>
        <Routes>
          <Route element={<Shell />}>
            <Route path="/devportal" element={<p>Catalog</p>} />
            <Route path="/devportal/account" element={<Account />} />
          </Route>
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  );
  return { calls, user: userEvent.setup({ delay: null }) };
}

const form = () => within(screen.getByRole('form', { name: 'Change password' }));
const changes = (calls: Array<{ name: string }>) => calls.filter((c) => c.name === 'ChangePassword');

async function fill(user: ReturnType<typeof userEvent.setup>, current: string, next: string, confirm = next) {
  const f = form();
  for (const [label, value] of [
    ['Current password', current],
    ['New password', next],
    ['Confirm new password', confirm],
  ]) {
    const input = f.getByLabelText(label);
    await user.clear(input);
    if (value) {
      await user.click(input);
      await user.paste(value);
    }
  }
  await user.click(f.getByRole('button', { name: 'Change password' }));
  await nextFrame();
}

describe('Account', () => {
  it('is reachable from the user name in the header', async () => {
    const { user } = renderApp({}, '/devportal');
    const link = await screen.findByRole('link', { name: /Signed in as alice/ });
    expect(link.getAttribute('href')).toBe('/devportal/account');
    await user.click(link);
    expect(await screen.findByRole('heading', { level: 1, name: 'Your account' })).toBeTruthy();
    expect(screen.getByText('alice@example.com')).toBeTruthy();
    expect(screen.getByText('Subscriber')).toBeTruthy();
  });

  it('validates the passwords before sending anything', async () => {
    const { calls, user } = renderApp();
    await screen.findByRole('form', { name: 'Change password' });
    await fill(user, '', '');
    expect(form().getByText('Current password is required.')).toBeTruthy();
    expect(form().getByText('New password is required.')).toBeTruthy();
    expect(form().getByText('Confirm the new password.')).toBeTruthy();
    expect(form().getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true');

    await fill(user, 'old-password', 'short');
    expect(form().getByText('New password must be at least 8 characters.')).toBeTruthy();

    await fill(user, 'old-password', 'p'.repeat(257));
    expect(form().getByText('New password must be at most 256 characters.')).toBeTruthy();

    await fill(user, 'old-password', 'new-password', 'new-passw0rd');
    expect(form().getByText('The passwords do not match.')).toBeTruthy();

    await fill(user, 'same-password', 'same-password');
    expect(form().getByText('The new password must differ from the current one.')).toBeTruthy();
    expect(changes(calls)).toHaveLength(0);
  });

  it('changes the password, says so and empties the form', async () => {
    const { calls, user } = renderApp({ ChangePassword: { changePassword: true } });
    await screen.findByRole('form', { name: 'Change password' });
    await fill(user, 'old-password', 'p'.repeat(256));
    expect(changes(calls)[0]).toMatchObject({ variables: { currentPassword: 'old-password', newPassword: 'p'.repeat(256) } });
    expect((await form().findByText(/Your password was changed/)).textContent).toBe(
      'Your password was changed. Your other sessions were signed out.',
    );
    expect((form().getByLabelText('Current password') as HTMLInputElement).value).toBe('');
    expect((form().getByLabelText('New password') as HTMLInputElement).value).toBe('');
    expect((form().getByLabelText('Confirm new password') as HTMLInputElement).value).toBe('');
  });

  it('puts a wrong current password at its field', async () => {
    const { user } = renderApp({
      ChangePassword: { __error: 'invalid username or password', __extensions: { code: 'UNAUTHENTICATED' } },
    });
    await screen.findByRole('form', { name: 'Change password' });
    await fill(user, 'wrong-password', 'new-password');
    expect(await form().findByText('The current password is not correct.')).toBeTruthy();
    expect(form().getByLabelText('Current password').getAttribute('aria-invalid')).toBe('true');
    expect(form().queryByRole('alert')).toBeNull();
  });

  it('shows any other error from the server', async () => {
    const { user } = renderApp({
      ChangePassword: { __error: 'too many failed sign-in attempts; try again in 30 s', __extensions: { code: 'UNAUTHENTICATED' } },
    });
    await screen.findByRole('form', { name: 'Change password' });
    await fill(user, 'old-password', 'new-password');
    expect((await form().findByRole('alert')).textContent).toBe(
      'Cannot change the password: too many failed sign-in attempts; try again in 30 s',
    );
  });
});
