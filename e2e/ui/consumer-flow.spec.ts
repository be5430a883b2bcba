// (b) A new user signs up, creates an application, subscribes, generates keys and a token,
// and calls the API from the try-it console, getting a 200 from a real backend.
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { PASSWORD, uniqueName } from './helpers/names';
import { createApi, createUser, publish, type SeededApi } from './helpers/seed';
import { startBackend, type Backend } from './helpers/backend';
import { shot, signIn, watchConsole } from './helpers/ui';

test.describe('consumer', () => {
  let backend: Backend;
  let api: SeededApi;
  test.beforeAll(async () => {
    backend = await startBackend();
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    const publisher = await Gql.login(pub.username, pub.password);
    const created = await createApi(publisher, {
      endpoint: backend.url,
      name: uniqueName('Greeting API'),
      resources: [
        { method: 'GET', path: '/greeting' },
        { method: 'GET', path: '/pets/{petId}' },
      ],
      corsForBrowsers: true,
    });
    api = await publish(publisher, created.id);
    await publisher.dispose();
    await admin.dispose();
  });
  test.afterAll(async () => {
    await backend?.close();
  });

  test('signs up, subscribes, gets keys and a token, and calls the API', async ({ page }) => {
    const flow = 'b-consumer';
    const problems = watchConsole(page);
    const username = uniqueName('dev');
    const appName = uniqueName('Mobile App');

    // Sign up: the new account is signed in straight away.
    await page.goto('/devportal/signup');
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Email', { exact: true }).fill(`${username}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
    await shot(page, flow, '01-signup');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect(page.getByLabel(`Signed in as ${username}`)).toBeVisible();
    // A subscriber sees only the Developer Portal.
    const portals = page.getByRole('navigation', { name: 'Portals' });
    await expect(portals.getByRole('link', { name: 'Developer Portal' })).toBeVisible();
    await expect(portals.getByRole('link', { name: 'Publisher' })).toHaveCount(0);
    await expect(portals.getByRole('link', { name: 'Admin' })).toHaveCount(0);

    // Application.
    await page.getByRole('link', { name: 'Applications', exact: true }).click();
    await expect(page.getByText('You have no applications yet.')).toBeVisible();
    await page.getByLabel('Application name').fill(appName);
    await page.getByRole('button', { name: 'Create application' }).click();
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();

    // Find the API by searching, and subscribe.
    await page.getByRole('link', { name: 'APIs', exact: true }).first().click();
    await page.getByRole('searchbox', { name: 'Search APIs' }).fill(api.name);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('link', { name: api.name }).click();
    await expect(page.getByRole('heading', { level: 1, name: new RegExp(api.name) })).toBeVisible();
    await expect(page.getByRole('list', { name: 'Operations' })).toContainText('/greeting');
    await page.getByLabel('Application', { exact: true }).selectOption({ label: appName });
    await page.getByLabel('Tier', { exact: true }).selectOption('Unlimited');
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
    await expect(page.getByText(`Subscribed ${appName}`)).toBeVisible();
    await shot(page, flow, '02-subscribed');

    // Keys: the secret is shown once.
    await page.getByRole('table', { name: 'Your subscriptions to this API' }).getByRole('link', { name: appName }).click();
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();
    await expect(page.getByRole('table', { name: 'Subscriptions' })).toContainText('ACTIVE');
    await page.getByRole('button', { name: 'Generate production keys' }).click();
    const secret = page.getByTestId('consumer-secret-production');
    await expect(secret).toBeVisible();
    await expect(page.getByText('will not be shown again')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Copy consumer secret' })).toBeVisible();
    expect((await page.getByTestId('consumer-key-production').textContent())?.trim()).toBeTruthy();
    await shot(page, flow, '03-keys');

    // Token from POST /oauth2/token (client_credentials, HTTP Basic).
    await page.getByRole('button', { name: 'Get production access token' }).click();
    const tokenBox = page.getByLabel('Production access token', { exact: true });
    await expect(tokenBox).not.toHaveValue('');
    const token = await tokenBox.inputValue();
    await shot(page, flow, '04-token');

    // Try it, through the gateway, with the token.
    await page.getByRole('table', { name: 'Subscriptions' }).getByRole('link', { name: new RegExp(api.name) }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Try it' })).toBeVisible();
    await page.getByLabel('Operation', { exact: true }).selectOption('GET /greeting');
    await page.getByLabel('Access token', { exact: true }).fill(token);
    // The gateway applies the deployment asynchronously: retry until it answers 200.
    await expect(async () => {
      await page.getByRole('button', { name: 'Send request' }).click();
      await expect(page.getByLabel('Response status')).toContainText('200', { timeout: 3000 });
    }).toPass({ timeout: 30_000, intervals: [500, 1000, 2000] });
    await expect(page.getByRole('region', { name: 'Response body' })).toContainText('hello from the e2e backend');
    await shot(page, flow, '05-try-it-200');

    const reached = backend.requests.filter((r) => r.url.endsWith('/greeting'));
    expect(reached.length).toBeGreaterThan(0);
    // The consumer's credentials are not forwarded to the backend.
    expect(reached.at(-1)?.headers.authorization ?? '').not.toContain(token);
    expect(problems).toEqual([]);
  });

  test('edits an application and changes the password from the account page', async ({ page }) => {
    const flow = 'b-consumer-account';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const dev = await createUser(admin, ['SUBSCRIBER'], 'dev');
    await admin.dispose();
    const appName = uniqueName('Web App');
    const renamed = uniqueName('Web App v2');
    await signIn(page, dev.username, dev.password, '/devportal/applications');

    // Create, then edit: validation first, then a rename with a description.
    await page.getByLabel('Application name').fill(appName);
    await page.getByRole('button', { name: 'Create application' }).click();
    await expect(page.getByRole('heading', { level: 1, name: appName })).toBeVisible();
    await page.getByRole('button', { name: 'Edit application' }).click();
    const form = page.getByRole('form', { name: 'Edit application' });
    await expect(form.getByLabel('Application name')).toHaveValue(appName);
    await form.getByLabel('Application name').fill('');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(form.getByText('Application name is required.')).toBeVisible();
    await form.getByLabel('Application name').fill(renamed);
    await form.getByLabel('Description').fill('Used by the web shop.');
    await shot(page, flow, '01-edit-application');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByText(`Saved ${renamed}.`)).toBeVisible();
    await expect(page.getByRole('heading', { level: 1, name: renamed })).toBeVisible();
    await expect(page.getByText('Used by the web shop.')).toBeVisible();
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Applications' }).click();
    await expect(page.getByRole('table', { name: 'Your applications' })).toContainText(renamed);

    // Account page from the user name in the header.
    await page.getByRole('link', { name: `Signed in as ${dev.username}` }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Your account' })).toBeVisible();
    const pw = page.getByRole('form', { name: 'Change password' });
    const next = `${PASSWORD}-new`;
    await pw.getByLabel('Current password').fill('not-my-password');
    await pw.getByLabel('New password', { exact: true }).fill(next);
    await pw.getByLabel('Confirm new password').fill(`${next}x`);
    await pw.getByRole('button', { name: 'Change password' }).click();
    await expect(pw.getByText('The passwords do not match.')).toBeVisible();
    await pw.getByLabel('Confirm new password').fill(next);
    await pw.getByRole('button', { name: 'Change password' }).click();
    await expect(pw.getByText('The current password is not correct.')).toBeVisible();
    await pw.getByLabel('Current password').fill(dev.password);
    await pw.getByRole('button', { name: 'Change password' }).click();
    await expect(pw.getByText('Your password was changed.', { exact: false })).toBeVisible();
    await shot(page, flow, '02-password-changed');

    // The new password signs in; the old one no longer does.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto('/devportal/signin');
    await page.getByLabel('Username').fill(dev.username);
    await page.getByLabel('Password').fill(dev.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText('invalid username or password');
    await signIn(page, dev.username, next);
    expect(problems).toEqual([]);
  });
});
