// (a) A publisher imports the Petstore OpenAPI document, edits a resource and publishes it.
import { readFileSync } from 'node:fs';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { uniqueContext, uniqueName } from './helpers/names';
import { createUser, getApi } from './helpers/seed';
import { startBackend, type Backend } from './helpers/backend';
import { shot, signIn, watchConsole } from './helpers/ui';

const petstore = JSON.parse(readFileSync(new URL('./fixtures/petstore.json', import.meta.url), 'utf8'));

test.describe('publisher', () => {
  let admin: Gql;
  let backend: Backend;
  test.beforeAll(async () => {
    admin = await Gql.admin();
    backend = await startBackend();
  });
  test.afterAll(async () => {
    await admin?.dispose();
    await backend?.close();
  });

  test('imports Petstore, edits a resource and publishes it', async ({ page }) => {
    const flow = 'a-publisher-import';
    const problems = watchConsole(page);
    const publisher = await createUser(admin, ['PUBLISHER'], 'pub');
    const title = uniqueName('Petstore');
    const context = uniqueContext('pets');
    const doc = { ...petstore, info: { ...petstore.info, title } };

    await signIn(page, publisher.username, publisher.password, '/publisher');
    await expect(page.getByRole('heading', { level: 1, name: 'APIs' })).toBeVisible();
    await page.getByRole('link', { name: 'Import OpenAPI' }).first().click();
    await expect(page.getByRole('heading', { level: 1, name: 'Import OpenAPI' })).toBeVisible();

    // Client-side validation first: nothing is sent without a definition and a valid endpoint.
    await page.getByRole('button', { name: 'Import API' }).click();
    await expect(page.getByText('Upload or paste an OpenAPI or Swagger document.')).toBeVisible();

    await page.getByLabel('OpenAPI file').setInputFiles({
      name: 'petstore.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(doc, null, 2)),
    });
    await expect(page.getByLabel('OpenAPI definition')).toHaveValue(new RegExp(title));
    await page.getByLabel('Endpoint URL').fill(backend.url);
    await page.getByLabel('Context', { exact: true }).fill(context);
    await page.getByLabel('Version', { exact: true }).fill('1.0.0');
    await shot(page, flow, '01-import-form');
    await page.getByRole('button', { name: 'Import API' }).click();

    await expect(page.getByRole('heading', { level: 1, name: new RegExp(title) })).toBeVisible();
    const apiId = /\/publisher\/apis\/([^/?#]+)/.exec(page.url())?.[1];
    expect(apiId, 'the import lands on the API page').toBeTruthy();
    await shot(page, flow, '02-imported');

    // Resources: the import made one per operation; edit GET /pets/{petId}.
    await page.getByRole('tab', { name: 'Resources' }).click();
    const paths = page.getByLabel(/^Path of resource \d+$/);
    await expect(paths.first()).toBeVisible();
    const count = await paths.count();
    let row = -1;
    for (let i = 1; i <= count; i++) {
      const path = await page.getByLabel(`Path of resource ${i}`, { exact: true }).inputValue();
      const method = await page.getByLabel(`Method of resource ${i}`, { exact: true }).inputValue();
      if (path === '/pets/{petId}' && method === 'GET') row = i;
    }
    expect(row, 'GET /pets/{petId} is among the imported resources').toBeGreaterThan(0);
    // Scopes need authentication: the resource keeps it and gains a scope.
    await expect(page.getByLabel(`Auth required for resource ${row}`, { exact: true })).toBeChecked();
    await page.getByLabel(`Scopes of resource ${row}`, { exact: true }).fill('read:pets');
    await page.getByRole('button', { name: 'Add resource' }).click();
    await page.getByLabel(`Method of resource ${count + 1}`, { exact: true }).selectOption('DELETE');
    await page.getByLabel(`Path of resource ${count + 1}`, { exact: true }).fill('/pets/{petId}');
    await page.getByRole('button', { name: 'Save resources' }).click();
    await expect(page.getByText('Resources saved.')).toBeVisible();
    await shot(page, flow, '03-resources-saved');

    const saved = await getApi(admin, apiId!);
    const edited = saved?.resources.find((r) => r.method === 'GET' && r.path === '/pets/{petId}');
    expect(edited).toMatchObject({ authRequired: true, scopes: ['read:pets'] });
    expect(saved?.resources.some((r) => r.method === 'DELETE' && r.path === '/pets/{petId}')).toBe(true);

    // Lifecycle: only the allowed actions are offered; publish.
    await page.getByRole('tab', { name: 'Lifecycle' }).click();
    await expect(page.getByText('Current state:')).toContainText('CREATED');
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    await expect(page.getByText('Current state:')).toContainText('PUBLISHED');
    await expect(page.getByRole('table', { name: 'Lifecycle history' })).toContainText('Publish');
    await shot(page, flow, '04-published');
    expect((await getApi(admin, apiId!))?.lifecycleState).toBe('PUBLISHED');

    // The Developer Portal lists the edited resources from the API's OpenAPI definition.
    await page.getByRole('link', { name: 'View in the Developer Portal' }).click();
    await expect(page.getByRole('heading', { level: 1, name: new RegExp(title) })).toBeVisible();
    const ops = page.getByRole('list', { name: 'Operations' });
    await expect(ops).toContainText('/pets/{petId}');
    await expect(ops).toContainText('DELETE');
    await shot(page, flow, '05-devportal');
    expect(problems).toEqual([]);
  });
});
