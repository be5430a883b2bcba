// WebSocket APIs: a publisher creates one with a ws:// endpoint in the Publisher and
// publishes it; a consumer subscribes and, from the Developer Portal's WebSocket try-it,
// connects with the token (as access_token), sends a frame and sees the echo from a ws
// backend the test starts; the backend never sees the token. Without a token the gateway
// refuses the upgrade and the log says so.
import { baseURL } from './helpers/env';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { uniqueContext, uniqueName } from './helpers/names';
import { createApplication, createUser, subscribe } from './helpers/seed';
import { startEchoSocketBackend, type EchoSocketBackend } from './helpers/backend';
import { shot, signIn, watchConsole } from './helpers/ui';

test.describe('WebSocket APIs', () => {
  let backend: EchoSocketBackend;
  test.beforeAll(async () => {
    backend = await startEchoSocketBackend();
  });
  test.afterAll(async () => {
    await backend?.close();
  });

  test('created with a ws:// endpoint, echoed through the Developer Portal’s WebSocket try-it', async ({ page, browser }) => {
    const flow = 'websocket-api';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    try {
      const name = uniqueName('Echo WS');
      await signIn(page, pub.username, pub.password, '/publisher/apis/new');
      await page.getByLabel('API type', { exact: true }).selectOption('WS');
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Context', { exact: true }).fill(uniqueContext('echo'));
      await page.getByLabel('Endpoint URL', { exact: true }).fill(backend.url);
      await page.getByRole('button', { name: 'Create API' }).click();
      await expect(page.getByRole('heading', { level: 1, name: new RegExp(name) })).toBeVisible();
      const apiId = /\/publisher\/apis\/([^/]+)/.exec(page.url())?.[1] ?? '';
      expect(apiId).toBeTruthy();
      await expect(page.getByLabel('Production endpoints')).toHaveValue(backend.url);
      await page.getByRole('tab', { name: 'Lifecycle' }).click();
      await page.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect(page.getByText('Current state:')).toContainText('PUBLISHED');
      await shot(page, flow, '01-published');

      const dev = await createUser(admin, ['SUBSCRIBER'], 'dev');
      const owner = await Gql.login(dev.username, dev.password);
      let token = '';
      try {
        const app = await createApplication(owner);
        await subscribe(owner, apiId, app.id);
        const keys = await owner.run<{ generateKeys: { consumerKey: string; consumerSecret: string } }>(
          `mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
          { app: app.id },
        );
        const { consumerKey, consumerSecret } = keys.generateKeys;
        const res = await owner.ctx.post('/oauth2/token', {
          headers: { Authorization: `Basic ${Buffer.from(`${consumerKey}:${consumerSecret}`).toString('base64')}` },
          form: { grant_type: 'client_credentials' },
        });
        expect(res.status()).toBe(200);
        token = ((await res.json()) as { access_token: string }).access_token;
      } finally {
        await owner.dispose();
      }

      const ctx = await browser.newContext({ baseURL: baseURL() });
      const devPage = await ctx.newPage();
      const devProblems = watchConsole(devPage);
      try {
        await signIn(devPage, dev.username, dev.password, `/devportal/apis/${apiId}`);
        const tryIt = devPage.getByRole('group', { name: 'WebSocket try it' });
        await expect(tryIt).toBeVisible();
        const frames = tryIt.getByRole('list', { name: 'Frames' });
        const state = tryIt.getByLabel('Connection state');
        // Without a token nothing is opened.
        await tryIt.getByRole('button', { name: 'Connect' }).click();
        await expect(tryIt.getByText(/An access token is required/)).toBeVisible();
        // A token the gateway does not accept: the upgrade is refused.
        await tryIt.getByLabel('Access token', { exact: true }).fill('not-a-token');
        await tryIt.getByRole('button', { name: 'Connect' }).click();
        await expect(frames).toContainText('The connection failed');
        await expect(state).toHaveText('Not connected');
        expect(backend.upgrades).toEqual([]);
        // The real token; the gateway applies the deployment asynchronously.
        await tryIt.getByLabel('Access token', { exact: true }).fill(token);
        await expect(async () => {
          if ((await state.textContent()) === 'Not connected') await tryIt.getByRole('button', { name: 'Connect' }).click();
          await expect(state).toHaveText('Connected', { timeout: 3000 });
        }).toPass({ timeout: 30_000, intervals: [500, 1000, 2000] });
        await tryIt.getByLabel('Message').fill('hello through the gateway');
        await tryIt.getByRole('button', { name: 'Send' }).click();
        await expect(frames).toContainText('received echo: hello through the gateway');
        await shot(devPage, flow, '02-echo');
        await tryIt.getByRole('button', { name: 'Disconnect' }).click();
        await expect(state).toHaveText('Not connected');
        await expect(frames).toContainText('Closed: code 1000');
        expect(backend.upgrades.length).toBeGreaterThan(0);
        expect(backend.upgrades.every((q) => !q.includes('access_token'))).toBe(true);
      } finally {
        await ctx.close();
      }
      expect([...problems, ...devProblems]).toEqual([]);
    } finally {
      await admin.dispose();
    }
  });
});
