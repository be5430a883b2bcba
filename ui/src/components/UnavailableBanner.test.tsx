import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { createClient } from '../lib/client';
import { createLiveTransport } from '../lib/live';
import { createAvailability } from '../lib/unavailable';
import { SessionProvider } from '../features/auth/session';
import { PUBLISHER_ROLES } from '../features/auth/roles';
import { RequireRole } from './RequireRole';
import { UnavailableBanner } from './UnavailableBanner';

const unavailable = () =>
  new Response(JSON.stringify({ errors: [{ message: 'Turnpike is unavailable right now', extensions: { code: 'UNAVAILABLE' } }], data: null }), {
    status: 503,
    headers: { 'Content-Type': 'application/json', 'Retry-After': '5' },
  });
const me = () =>
  new Response(JSON.stringify({ data: { me: { __typename: 'User', id: 'u1', username: 'pat', email: null, roles: ['PUBLISHER'] } } }), {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
  });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('an unavailable Turnpike', () => {
  it('shows the banner, keeps the publisher out of sign-in, and lets them in once it answers', async () => {
    let down = true;
    const fetch = vi.fn(async () => (down ? unavailable() : me()));
    vi.stubGlobal('fetch', fetch);
    const pending: Array<() => void> = [];
    const availability = createAvailability();
    const client = createClient('/graphql', createLiveTransport(), { availability, schedule: (fn) => pending.push(fn) });
    render(
      <MemoryRouter initialEntries={['/publisher/apis']}>
        <SessionProvider client={client}>
          <UnavailableBanner availability={availability} />
          <Routes>
            <Route path="/devportal/signin" element={<p>the sign-in page</p>} />
            <Route
              path="/publisher/*"
              element={
                <RequireRole roles={PUBLISHER_ROLES} portal="Publisher">
                  <p>the publisher's APIs</p>
                </RequireRole>
              }
            />
          </Routes>
        </SessionProvider>
      </MemoryRouter>,
    );

    expect((await screen.findByText(/Turnpike is unavailable, retrying/)).textContent).toContain('You stay signed in');
    expect(screen.queryByText('the sign-in page')).toBeNull();
    expect(screen.getByText('Checking your session…')).toBeTruthy();

    // Still down at the next attempt: nothing changes.
    await act(async () => pending.shift()?.());
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    expect(screen.queryByText('the sign-in page')).toBeNull();
    expect(screen.getByText(/Turnpike is unavailable, retrying/)).toBeTruthy();

    // Back: the retry brings the session, the page and no banner.
    down = false;
    await vi.waitFor(() => expect(pending).toHaveLength(1));
    await act(async () => pending.shift()?.());
    expect(await screen.findByText("the publisher's APIs")).toBeTruthy();
    expect(screen.queryByText(/Turnpike is unavailable, retrying/)).toBeNull();
    expect(screen.queryByText('the sign-in page')).toBeNull();
  });
});
