import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import SignIn from './SignIn';

describe('SignIn', () => {
  it('validates before sending anything', async () => {
    const { client, calls } = mockClient({});
    render(withClient(client, <SignIn />, '/devportal/signin'));
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByText('Username is required.')).toBeTruthy();
    expect(screen.getByText('Password is required.')).toBeTruthy();
    expect(screen.getByLabelText(/Username/).getAttribute('aria-invalid')).toBe('true');
    expect(calls.filter((c) => c.name === 'Login')).toHaveLength(0);
  });

  it('shows the GraphQL error message when the password is wrong', async () => {
    const { client, calls } = mockClient({ Login: { __error: 'invalid username or password' } });
    render(withClient(client, <SignIn />, '/devportal/signin'));
    await userEvent.type(screen.getByLabelText(/Username/), 'alice');
    await userEvent.type(screen.getByLabelText(/Password/), 'wrong-password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(calls.find((c) => c.name === 'Login')?.variables).toEqual({ username: 'alice', password: 'wrong-password' });
    expect((await screen.findByRole('alert')).textContent).toContain('invalid username or password');
  });
});
