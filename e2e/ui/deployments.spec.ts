// Revisions and deployments: a publisher creates a revision, deploys it, watches the gateway
// acknowledge it (all-in-one has one gateway, in Default), and rolls back; an admin creates
// and deletes a gateway environment.
import { expect, test } from './helpers/test';
import { startBackend } from './helpers/backend';
import { Gql } from './helpers/graphql';
import { rnd } from './helpers/names';
import { createApi, createUser, publish } from './helpers/seed';
import { ADMIN_USERNAME, adminPassword } from './helpers/env';
import { shot, signIn, watchConsole } from './helpers/ui';

test('a publisher creates a revision, deploys it, sees the gateway enforce it, and rolls back', async ({ page, request }) => {
  const flow = 'deployments';
  const problems = watchConsole(page);
  const backend = await startBackend();
  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'deployer');
  const publisher = await Gql.login(pub.username, pub.password);
  try {
    const api = await createApi(publisher, {
      endpoint: backend.url,
      resources: [{ method: 'GET', path: '/pets', authRequired: false }],
    });
    // PUBLISH of an API with no deployment creates revision 1 and deploys it to Default.
    const published = await publish(publisher, api.id);
    const pets = `${published.gatewayURLs[0]}/pets`;
    const owners = `${published.gatewayURLs[0]}/owners`;
    await expect.poll(async () => (await request.get(pets)).status(), { timeout: 30_000 }).toBe(200);

    await signIn(page, pub.username, pub.password, `/publisher/apis/${api.id}/deployments`);
    await expect(page.getByRole('tab', { name: 'Deployments', selected: true })).toBeVisible();
    const deployments = page.getByRole('table', { name: 'Deployments' });
    const defaultRow = deployments.getByRole('row', { name: /^Default\b/ });
    const status = page.getByTestId('deployment-status-Default');
    await expect(defaultRow).toContainText('Revision 1');
    await expect(status).toHaveText(/^enforced by 1 of 1 gateway in \d+ ms$/);
    await expect(page.getByRole('status', { name: 'Live status' })).toHaveText('Live');

    // Edit the working copy: the gateway keeps serving revision 1, and the tab says so.
    await publisher.run(`mutation($id: ID!, $input: UpdateAPIInput!) { updateAPI(id: $id, input: $input) { id } }`, {
      id: api.id,
      input: {
        resources: [
          { method: 'GET', path: '/pets', authRequired: false },
          { method: 'GET', path: '/owners', authRequired: false },
        ],
      },
    });
    await page.reload();
    const note = page.getByRole('note', { name: 'Working copy' });
    await expect(note).toContainText('The working copy has changes that no revision holds yet');
    await expect(note).toContainText('differs from revision 1, deployed to Default');
    expect((await request.get(owners)).status()).toBe(404);
    await shot(page, flow, '01-working-copy-differs');

    // Create revision 2 and deploy it.
    const create = page.getByRole('form', { name: 'Create revision' });
    await create.getByLabel('Revision description').fill('Adds /owners');
    await create.getByRole('button', { name: 'Create revision' }).click();
    await expect(page.getByText('Revision 2 created.')).toBeVisible();
    const revisions = page.getByRole('table', { name: 'Revisions' });
    await expect(revisions.getByRole('row').nth(1)).toContainText('Revision 2');
    await expect(revisions.getByRole('row').nth(1)).toContainText('Adds /owners');
    await expect(note).toContainText('differs from revision 1');
    await expect(note).not.toContainText('no revision holds');

    await page.getByRole('button', { name: 'Deploy revision 2…', exact: true }).click();
    const deployForm = page.getByRole('form', { name: 'Deploy revision 2' });
    await expect(deployForm.getByRole('checkbox', { name: 'Default' })).toBeChecked();
    await deployForm.getByRole('button', { name: 'Deploy revision 2', exact: true }).click();
    await expect(page.getByText('Revision 2 deployed to Default.')).toBeVisible();
    await expect(defaultRow).toContainText('Revision 2');
    await expect(status).toHaveText(/^enforced by 1 of 1 gateway in \d+ ms$/);
    await expect(note).toHaveCount(0);
    // Acknowledged means enforced: the gateway serves the new resource now.
    expect((await request.get(owners)).status()).toBe(200);
    await shot(page, flow, '02-revision-2-enforced');

    // Roll back: deploy revision 1 again.
    await page.getByRole('button', { name: 'Deploy revision 1…', exact: true }).click();
    await page.getByRole('form', { name: 'Deploy revision 1' }).getByRole('button', { name: 'Deploy revision 1', exact: true }).click();
    await expect(page.getByText('Revision 1 deployed to Default.')).toBeVisible();
    await expect(defaultRow).toContainText('Revision 1');
    await expect(status).toHaveText(/^enforced by 1 of 1 gateway in \d+ ms$/);
    expect((await request.get(owners)).status()).toBe(404);
    expect((await request.get(pets)).status()).toBe(200);
    await expect(revisions.getByRole('row', { name: /Revision 2/ })).toContainText('not deployed');
    await expect(note).toContainText('differs from revision 1, deployed to Default');
    await shot(page, flow, '03-rolled-back');

    // The Developer Portal shows the gateway URLs of the environment the API is deployed to.
    await page.goto(`/devportal/apis/${api.id}`);
    const env = page.getByRole('region', { name: 'Environment Default' });
    await expect(env.locator('code').first()).toHaveText(published.gatewayURLs[0]);
    expect(problems).toEqual([]);
  } finally {
    await publisher.dispose();
    await admin.dispose();
    await backend.close();
  }
});

test('an admin creates a gateway environment and deletes it', async ({ page }) => {
  const flow = 'environments';
  const problems = watchConsole(page);
  const name = `e2e-${rnd()}`;

  await signIn(page, ADMIN_USERNAME, adminPassword(), '/admin');
  await page.getByRole('link', { name: 'Gateway environments' }).click();
  const table = page.getByRole('table', { name: 'Environments' });
  // Default exists from the first start, with the gateway of all-in-one in it.
  const defaultRow = table.getByRole('row', { name: /^Default\b/ });
  await expect(defaultRow).toBeVisible();
  await expect(defaultRow.getByText('Healthy')).toBeVisible();

  const form = page.getByRole('form', { name: 'Create environment' });
  await form.getByRole('button', { name: 'Create environment' }).click();
  await expect(form.getByText('Name is required.')).toBeVisible();
  await form.getByLabel('Environment name').fill(name);
  await form.getByLabel('Display name').fill('E2E partners');
  await form.getByLabel('Description').fill('Created by the e2e tests');
  await form.getByLabel('Gateway URLs').fill('https://partners.gw.example.com');
  await form.getByRole('button', { name: 'Create environment' }).click();
  await expect(form.getByText(`Created ${name}.`)).toBeVisible();
  const row = table.getByRole('row', { name: new RegExp(`^${name}\\b`) });
  await expect(row).toContainText('E2E partners');
  await expect(row).toContainText('https://partners.gw.example.com');
  await expect(row).toContainText('No gateway has reported.');
  await shot(page, flow, '01-created');

  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await row.getByRole('button', { name: 'Confirm delete' }).click();
  await expect(page.getByText(`Deleted ${name}.`)).toBeVisible();
  await expect(row).toHaveCount(0);
  expect(problems).toEqual([]);
});
