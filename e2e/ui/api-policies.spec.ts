// API policies: a publisher attaches a REQUEST addHeader policy on the Policies tab, the
// server refuses a header the gateway manages (next to the field), the policy is saved, a
// new revision is created and deployed, and a consumer's try-it call shows the backend
// received the header. And a MOCK endpoint: the publisher previews what each resource
// answers, deploys the API as a prototype, and try-it gets that answer with no backend.
import { readFileSync } from 'node:fs';
import { baseURL } from './helpers/env';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { uniqueContext, uniqueName } from './helpers/names';
import { createApi, createApplication, createUser, publish, subscribe } from './helpers/seed';
import { startBackend, type Backend } from './helpers/backend';
import { shot, signIn, watchConsole } from './helpers/ui';

const petstore = JSON.parse(readFileSync(new URL('./fixtures/petstore.json', import.meta.url), 'utf8'));

/**
 * A production access token for a new subscriber's application, subscribed to apiId when
 * given (a prototype needs no subscription).
 */
async function consumerToken(admin: Gql, apiId?: string) {
  const dev = await createUser(admin, ['SUBSCRIBER'], 'dev');
  const owner = await Gql.login(dev.username, dev.password);
  try {
    const app = await createApplication(owner);
    if (apiId) await subscribe(owner, apiId, app.id);
    const keys = await owner.run<{ generateKeys: { consumerKey: string; consumerSecret: string } }>(
      `mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
      { app: app.id },
    );
    const { consumerKey, consumerSecret } = keys.generateKeys;
    const res = await owner.ctx.post('/oauth2/token', {
      headers: { Authorization: `Basic ${Buffer.from(`${consumerKey}:${consumerSecret}`).toString('base64')}` },
      form: { grant_type: 'client_credentials' },
    });
    expect(res.status(), await res.text()).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    return { user: dev, token };
  } finally {
    await owner.dispose();
  }
}

test.describe('API policies', () => {
  let backend: Backend;
  test.beforeAll(async () => {
    backend = await startBackend({ echoHeaders: true });
  });
  test.afterAll(async () => {
    await backend?.close();
  });

  test('a header policy attached in the Publisher reaches the backend through try-it', async ({ page, browser, request }) => {
    const flow = 'api-policies';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    const publisher = await Gql.login(pub.username, pub.password);
    try {
      const created = await createApi(publisher, {
        endpoint: backend.url,
        resources: [{ method: 'GET', path: '/echo' }],
        corsForBrowsers: true,
      });
      // PUBLISH deploys revision 1 (no policies) to Default.
      const api = await publish(publisher, created.id);
      const consumer = await consumerToken(admin, api.id);
      const echo = `${api.gatewayURLs[0]}/echo`;
      const auth = { Authorization: `Bearer ${consumer.token}` };
      await expect.poll(async () => (await request.get(echo, { headers: auth })).status(), { timeout: 30_000 }).toBe(200);
      expect(((await (await request.get(echo, { headers: auth })).json()) as { headers: Record<string, string> }).headers['x-turnpike-test']).toBeUndefined();

      // The Policies tab: the API-level list and one list per resource.
      await signIn(page, pub.username, pub.password, `/publisher/apis/${api.id}/policies`);
      await expect(page.getByRole('tab', { name: 'Policies', selected: true })).toBeVisible();
      const apiPolicies = page.getByRole('region', { name: 'Policies on the API' });
      await expect(apiPolicies.getByText('No policies.')).toBeVisible();
      await expect(page.getByRole('region', { name: 'Policies on GET /echo' })).toBeVisible();

      // A header the gateway manages: the server refuses it, naming the field.
      await apiPolicies.getByLabel('Policy to add to the API').selectOption('addHeader');
      await apiPolicies.getByRole('button', { name: 'Add policy to the API' }).click();
      const name = page.getByLabel('name of policy 1 on the API', { exact: true });
      const value = page.getByLabel('value of policy 1 on the API', { exact: true });
      await expect(page.getByLabel('Flow of policy 1 on the API')).toHaveValue('REQUEST');
      await name.fill('Host');
      await value.fill('hello');
      await page.getByRole('button', { name: 'Save policies' }).click();
      await expect(page.getByRole('alert')).toContainText('Cannot save the policies');
      await expect(page.getByRole('alert')).toContainText('Host');
      await expect(name).toHaveAttribute('aria-invalid', 'true');
      await shot(page, flow, '01-server-refuses-host');

      // The header the backend should see.
      await name.fill('X-Turnpike-Test');
      await page.getByRole('button', { name: 'Save policies' }).click();
      await expect(page.getByText('Policies saved.')).toBeVisible();
      await expect(page.getByRole('alert')).toHaveCount(0);
      await page.reload();
      await expect(page.getByLabel('name of policy 1 on the API', { exact: true })).toHaveValue('X-Turnpike-Test');
      await expect(page.getByLabel('value of policy 1 on the API', { exact: true })).toHaveValue('hello');
      await shot(page, flow, '02-policy-saved');

      // The gateway serves revision 1 until a revision with the policy is deployed.
      expect(((await (await request.get(echo, { headers: auth })).json()) as { headers: Record<string, string> }).headers['x-turnpike-test']).toBeUndefined();
      await page.getByRole('tab', { name: 'Deployments' }).click();
      const create = page.getByRole('form', { name: 'Create revision' });
      await create.getByLabel('Revision description').fill('Adds X-Turnpike-Test');
      await create.getByRole('button', { name: 'Create revision' }).click();
      await expect(page.getByText('Revision 2 created.')).toBeVisible();
      await page.getByRole('button', { name: 'Deploy revision 2…', exact: true }).click();
      await page.getByRole('form', { name: 'Deploy revision 2' }).getByRole('button', { name: 'Deploy revision 2', exact: true }).click();
      await expect(page.getByText('Revision 2 deployed to Default.')).toBeVisible();
      await expect(page.getByTestId('deployment-status-Default')).toHaveText(/^enforced by 1 of 1 gateway in \d+ ms$/);
      await shot(page, flow, '03-revision-2-deployed');

      // The consumer calls the API from try-it: the backend echoes the header it received.
      const ctx = await browser.newContext({ baseURL: baseURL() });
      const devPage = await ctx.newPage();
      const devProblems = watchConsole(devPage);
      try {
        await signIn(devPage, consumer.user.username, consumer.user.password, `/devportal/apis/${api.id}`);
        await expect(devPage.getByRole('heading', { level: 2, name: 'Try it' })).toBeVisible();
        await devPage.getByLabel('Operation', { exact: true }).selectOption('GET /echo');
        await devPage.getByLabel('Access token', { exact: true }).fill(consumer.token);
        await devPage.getByRole('button', { name: 'Send request' }).click();
        await expect(devPage.getByLabel('Response status')).toContainText('200');
        await expect(devPage.getByRole('region', { name: 'Response body' })).toContainText('"x-turnpike-test": "hello"');
        await shot(devPage, flow, '04-try-it-sees-header');
      } finally {
        await ctx.close();
      }
      expect(backend.requests.at(-1)?.headers['x-turnpike-test']).toBe('hello');
      expect([...problems, ...devProblems]).toEqual([]);
    } finally {
      await Promise.all([publisher.dispose(), admin.dispose()]);
    }
  });

  test('a MOCK endpoint previews each resource’s answer and serves it with no backend', async ({ page, browser }) => {
    const flow = 'api-mock';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    const publisher = await Gql.login(pub.username, pub.password);
    try {
      const title = uniqueName('Mock Petstore');
      const imported = await publisher.run<{ importOpenAPI: { id: string } }>(
        `mutation($d: String!, $e: String!, $c: String) { importOpenAPI(definition: $d, endpoint: $e, context: $c) { id } }`,
        { d: JSON.stringify({ ...petstore, info: { ...petstore.info, title } }), e: backend.url, c: uniqueContext('mock') },
      );
      const apiId = imported.importOpenAPI.id;
      const before = backend.requests.length;

      // Overview: the MOCK type hides the URLs; the preview needs a save first.
      await signIn(page, pub.username, pub.password, `/publisher/apis/${apiId}/overview`);
      await expect(page.getByLabel('Production endpoints')).toHaveValue(backend.url);
      await page.getByLabel('Endpoint type').selectOption('MOCK');
      await expect(page.getByLabel('Production endpoints')).toHaveCount(0);
      await expect(page.getByText('Save with the Mock type to see what each resource answers.')).toBeVisible();
      // The try-it console calls the gateway from the portal's origin.
      await page.getByLabel('Enable CORS').check();
      await page.getByLabel('Allowed origins').fill('*');
      await page.getByLabel('Allowed methods').fill('GET, POST');
      await page.getByLabel('Allowed headers').fill('Authorization, Content-Type');
      await page.getByRole('button', { name: 'Save overview' }).click();
      await expect(page.getByText('Saved.')).toBeVisible();
      const preview = page.getByRole('table', { name: 'Mock answers' });
      const petRow = preview.getByRole('row', { name: /^GET \/pets\/\{petId\}/ });
      await expect(petRow).toContainText('200');
      await expect(petRow).toContainText('application/json');
      const petBody = ((await petRow.locator('pre').textContent()) ?? '').trim();
      expect(Object.keys(JSON.parse(petBody) as Record<string, unknown>)).toEqual(expect.arrayContaining(['id', 'name']));
      await expect(preview.getByRole('row', { name: /^POST \/pets\b/ })).toContainText('201');
      await shot(page, flow, '01-mock-preview');

      // Deploy as a prototype from the Lifecycle tab.
      await page.getByRole('tab', { name: 'Lifecycle' }).click();
      await page.getByRole('group', { name: 'Lifecycle actions' }).getByRole('button', { name: 'Deploy as prototype' }).click();
      await expect(page.getByText('PROTOTYPED').first()).toBeVisible();

      // A consumer's try-it gets the preview's answer; the backend never hears of it.
      const consumer = await consumerToken(admin);
      const ctx = await browser.newContext({ baseURL: baseURL() });
      const devPage = await ctx.newPage();
      const devProblems = watchConsole(devPage);
      try {
        await signIn(devPage, consumer.user.username, consumer.user.password, `/devportal/apis/${apiId}`);
        await expect(devPage.getByRole('heading', { level: 2, name: 'Try it' })).toBeVisible();
        await devPage.getByLabel('Operation', { exact: true }).selectOption('GET /pets/{petId}');
        await devPage.getByLabel('Path parameter petId', { exact: true }).fill('7');
        await devPage.getByLabel('Access token', { exact: true }).fill(consumer.token);
        // The gateway applies the deployment asynchronously: retry until it answers 200.
        await expect(async () => {
          await devPage.getByRole('button', { name: 'Send request' }).click();
          await expect(devPage.getByLabel('Response status')).toContainText('200', { timeout: 3000 });
        }).toPass({ timeout: 30_000, intervals: [500, 1000, 2000] });
        const shown = (await devPage.getByRole('region', { name: 'Response body' }).locator('pre').textContent()) ?? '';
        expect(JSON.parse(shown)).toEqual(JSON.parse(petBody));
        await shot(devPage, flow, '02-try-it-mock');
      } finally {
        await ctx.close();
      }
      expect(backend.requests.length).toBe(before);
      expect([...problems, ...devProblems]).toEqual([]);
    } finally {
      await Promise.all([publisher.dispose(), admin.dispose()]);
    }
  });
});
