// (d) A subscription blocked by the publisher shows as blocked to its owner.
import { baseURL } from './helpers/env';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { createApi, createApplication, createUser, publish, signUp, subscribe } from './helpers/seed';
import { shot, signIn, watchConsole } from './helpers/ui';

test('a blocked subscription shows as blocked to its owner', async ({ page, browser }) => {
  const flow = 'd-blocked-subscription';
  const problems = watchConsole(page);

  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'pub');
  const publisher = await Gql.login(pub.username, pub.password);
  const api = await publish(publisher, (await createApi(publisher, { endpoint: 'http://127.0.0.1:9/unused' })).id);
  const dev = await signUp('owner');
  const owner = await Gql.login(dev.username, dev.password);
  const app = await createApplication(owner);
  const sub = await subscribe(owner, api.id, app.id);
  expect(sub.status).toBe('ACTIVE');

  // The publisher blocks it.
  await signIn(page, pub.username, pub.password, `/publisher/apis/${api.id}/subscriptions`);
  const table = page.getByRole('table', { name: 'Subscriptions' });
  const row = table.getByRole('row', { name: new RegExp(app.name) });
  await expect(row).toContainText('ACTIVE');
  await row.getByRole('button', { name: `Block subscription of ${app.name}` }).click();
  await expect(row).toContainText('BLOCKED');
  await expect(row.getByRole('button', { name: `Unblock subscription of ${app.name}` })).toBeVisible();
  await shot(page, flow, '01-publisher-blocked');

  // The owner sees it blocked on the application page and on the API page.
  const ctx = await browser.newContext({ baseURL: baseURL() });
  const ownerPage = await ctx.newPage();
  const ownerProblems = watchConsole(ownerPage);
  await signIn(ownerPage, dev.username, dev.password, `/devportal/applications/${app.id}`);
  const ownerRow = ownerPage.getByRole('table', { name: 'Subscriptions' }).getByRole('row', { name: new RegExp(api.name) });
  await expect(ownerRow).toContainText('BLOCKED');
  await expect(ownerRow).toContainText('blocked this subscription');
  await shot(ownerPage, flow, '02-owner-sees-blocked');
  await ownerRow.getByRole('link', { name: new RegExp(api.name) }).click();
  await expect(ownerPage.getByRole('table', { name: 'Your subscriptions to this API' })).toContainText('BLOCKED');

  const seen = await owner.run<{ application: { subscriptions: Array<{ id: string; status: string }> } }>(
    `query($id: ID!) { application(id: $id) { subscriptions { id status } } }`,
    { id: app.id },
  );
  expect(seen.application.subscriptions.find((s) => s.id === sub.id)?.status).toBe('BLOCKED');

  await ctx.close();
  await Promise.all([admin.dispose(), publisher.dispose(), owner.dispose()]);
  expect([...problems, ...ownerProblems]).toEqual([]);
});
