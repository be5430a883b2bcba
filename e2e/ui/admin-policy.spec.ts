// (c) An admin adds a subscription policy and it appears in the publisher's tier list.
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { rnd } from './helpers/names';
import { createApi, createUser, getApi } from './helpers/seed';
import { ADMIN_USERNAME, adminPassword, baseURL } from './helpers/env';
import { shot, signIn, watchConsole } from './helpers/ui';

test('an admin adds a subscription policy that publishers can offer', async ({ page, browser }) => {
  const flow = 'c-admin-policy';
  const problems = watchConsole(page);
  const policy = `Tier${rnd()}`;

  await signIn(page, ADMIN_USERNAME, adminPassword(), '/admin');
  const portals = page.getByRole('navigation', { name: 'Portals' });
  await expect(portals.getByRole('link', { name: 'Admin' })).toBeVisible();
  await expect(portals.getByRole('link', { name: 'Publisher' })).toBeVisible();
  await page.getByRole('link', { name: 'Throttling policies' }).click();
  await expect(page.getByRole('tab', { name: 'Subscription', selected: true })).toBeVisible();
  await page.getByRole('button', { name: 'New subscription policy' }).click();

  // Validation before sending.
  await page.getByLabel('Unit time (seconds)').fill('0');
  await page.getByRole('button', { name: 'Create policy' }).click();
  await expect(page.getByText('Name is required.')).toBeVisible();

  await page.getByLabel('Policy name').fill(policy);
  await page.getByLabel('Description').fill('Created by the e2e tests');
  await page.getByLabel('Request count').fill('100');
  await page.getByLabel('Unit time (seconds)').fill('60');
  await page.getByLabel('Burst limit (requests per second)').fill('5');
  await shot(page, flow, '01-policy-form');
  await page.getByRole('button', { name: 'Create policy' }).click();
  await expect(page.getByText(`Created ${policy}.`)).toBeVisible();
  const row = page.getByRole('table', { name: 'Subscription policies' }).getByRole('row', { name: new RegExp(policy) });
  await expect(row).toContainText('100 requests per minute');
  await shot(page, flow, '02-policy-listed');

  // A publisher sees it among the tiers of an API and can offer it.
  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'pub');
  const publisher = await Gql.login(pub.username, pub.password);
  const api = await createApi(publisher, { endpoint: 'http://127.0.0.1:9/unused' });
  const ctx = await browser.newContext({ baseURL: baseURL() });
  const pubPage = await ctx.newPage();
  await signIn(pubPage, pub.username, pub.password, `/publisher/apis/${api.id}/tiers`);
  const tier = pubPage.getByRole('checkbox', { name: new RegExp(`^${policy}\\b`) });
  await expect(tier).toBeVisible();
  await expect(tier).not.toBeChecked();
  await tier.check();
  await pubPage.getByRole('button', { name: 'Save tiers' }).click();
  await expect(pubPage.getByText('Tiers saved.')).toBeVisible();
  await shot(pubPage, flow, '03-publisher-tiers');
  expect((await getApi(publisher, api.id))?.subscriptionTiers).toContain(policy);

  await ctx.close();
  await publisher.dispose();
  await admin.dispose();
  expect(problems).toEqual([]);
});
