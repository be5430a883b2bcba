// (f) An owner generates a labelled API key on the application page, calls the gateway with
// it, revokes it from the list, and the gateway refuses it from then on.
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { uniqueName } from './helpers/names';
import { createApi, createApplication, createUser, publish, subscribe } from './helpers/seed';
import { startBackend } from './helpers/backend';
import { shot, signIn, watchConsole } from './helpers/ui';

test('an owner lists and revokes the API keys of an application', async ({ page, request }) => {
  const flow = 'f-api-keys';
  const problems = watchConsole(page);
  const backend = await startBackend();
  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'pub');
  const publisher = await Gql.login(pub.username, pub.password);
  const api = await publish(
    publisher,
    (await createApi(publisher, { endpoint: backend.url, resources: [{ method: 'GET', path: '/greeting' }] })).id,
  );
  const dev = await createUser(admin, ['SUBSCRIBER'], 'dev');
  const owner = await Gql.login(dev.username, dev.password);
  const app = await createApplication(owner);
  await subscribe(owner, api.id, app.id);
  const gatewayURL = `${api.gatewayURLs[0]}/greeting`;

  await signIn(page, dev.username, dev.password, `/devportal/applications/${app.id}`);
  const card = page.getByRole('region', { name: 'API keys' });
  await expect(card.getByText('No API keys yet.')).toBeVisible();
  const label = uniqueName('ci');
  await card.getByLabel('Label').fill(label);
  await card.getByLabel('Validity (days)').fill('30');
  await card.getByRole('button', { name: 'Generate API key' }).click();
  const shown = card.getByLabel('New API key');
  await expect(shown).toBeVisible();
  const key = (await shown.textContent()) ?? '';
  expect(key.split('.')).toHaveLength(3);
  const row = card.getByRole('table', { name: 'API keys' }).getByRole('row', { name: new RegExp(label) });
  await expect(row).toContainText('Active');
  await expect(row).toContainText('Production');
  await shot(page, flow, '01-generated');

  // The key works at the gateway (deployment is asynchronous: poll).
  await expect.poll(async () => (await request.get(gatewayURL, { headers: { apikey: key } })).status(), { timeout: 30_000 }).toBe(200);

  await row.getByRole('button', { name: `Revoke API key ${label}` }).click();
  await row.getByRole('button', { name: 'Confirm revoke' }).click();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button', { name: /Revoke API key/ })).toHaveCount(0);
  await shot(page, flow, '02-revoked');
  await expect.poll(async () => (await request.get(gatewayURL, { headers: { apikey: key } })).status(), { timeout: 30_000 }).toBe(401);

  // The list never carries the key itself.
  const listed = await owner.run<{ application: { apiKeys: Array<Record<string, unknown>> } }>(
    `query($id: ID!) { application(id: $id) { apiKeys { id label keyType createdAt expiresAt revokedAt } } }`,
    { id: app.id },
  );
  expect(listed.application.apiKeys).toHaveLength(1);
  expect(JSON.stringify(listed)).not.toContain(key.split('.')[2]);

  await Promise.all([admin.dispose(), publisher.dispose(), owner.dispose(), backend.close()]);
  expect(problems).toEqual([]);
});
