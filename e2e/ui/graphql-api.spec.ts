// GraphQL APIs: a publisher creates one from its backend's SDL in the Publisher (an SDL that
// does not load is refused beside the field; the operations are listed from the schema and
// become the resources), lets browsers call it (CORS) and publishes it; a consumer
// subscribes in the Developer Portal, reads the schema, and runs a query with variables from
// the GraphQL try-it against a graphql-js backend the test starts, seeing the result and its
// query cost. A query for a field the schema lacks is refused by the gateway and never
// reaches the backend.
import { ADMIN_USERNAME, adminPassword, baseURL } from './helpers/env';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { rnd, uniqueContext, uniqueName } from './helpers/names';
import { createApplication, createUser } from './helpers/seed';
import { startGraphQLBackend, type GraphQLBackend } from './helpers/backend';
import { shot, signIn, watchConsole } from './helpers/ui';

/** A new subscriber with an application and a production access token (not subscribed yet). */
async function consumer(admin: Gql) {
  const dev = await createUser(admin, ['SUBSCRIBER'], 'dev');
  const owner = await Gql.login(dev.username, dev.password);
  try {
    const app = await createApplication(owner);
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
    return { user: dev, app, token: ((await res.json()) as { access_token: string }).access_token };
  } finally {
    await owner.dispose();
  }
}

test.describe('GraphQL APIs', () => {
  let backend: GraphQLBackend;
  test.beforeAll(async () => {
    backend = await startGraphQLBackend();
  });
  test.afterAll(async () => {
    await backend?.close();
  });

  test('published from SDL in the Publisher, queried from the Developer Portal’s try-it', async ({ page, browser }) => {
    const flow = 'graphql-api';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    try {
      // Create: the GraphQL type asks for the SDL and lists its operations.
      const name = uniqueName('Books GraphQL');
      const context = uniqueContext('books');
      await signIn(page, pub.username, pub.password, '/publisher/apis/new');
      await page.getByLabel('API type', { exact: true }).selectOption('GRAPHQL');
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Context', { exact: true }).fill(context);
      await page.getByLabel('Endpoint URL', { exact: true }).fill(backend.url);
      const sdl = page.getByLabel('Schema (SDL)', { exact: true });
      // An SDL naming a type it does not declare: the server says where, beside the field.
      await sdl.fill('type Query {\n  books: [Nope]\n}\n');
      await expect(page.getByRole('region', { name: 'Operations' })).toContainText('QUERY books');
      await page.getByRole('button', { name: 'Create API' }).click();
      await expect(page.getByText(/the SDL does not load: line 2:\d+/)).toBeVisible();
      await expect(sdl).toHaveAttribute('aria-invalid', 'true');
      await shot(page, flow, '01-sdl-refused');

      await sdl.fill(backend.sdl);
      const ops = page.getByRole('region', { name: 'Operations' });
      await expect(ops).toContainText('Operations (3)');
      await expect(ops).toContainText('QUERY books');
      await expect(ops).toContainText('QUERY hello');
      await expect(ops).toContainText('MUTATION addBook');
      await shot(page, flow, '02-create-from-sdl');
      await page.getByRole('button', { name: 'Create API' }).click();
      await expect(page.getByRole('heading', { level: 1, name: new RegExp(name) })).toBeVisible();
      const apiId = /\/publisher\/apis\/([^/]+)/.exec(page.url())?.[1];
      expect(apiId).toBeTruthy();

      // The operations are the resources; the schema has its tab.
      await page.getByRole('tab', { name: 'Resources' }).click();
      await expect(page.getByLabel('Method of resource 1')).toHaveValue('QUERY');
      await expect(page.getByLabel('Field of resource 1')).toHaveValue('books');
      await expect(page.getByLabel('Method of resource 3')).toHaveValue('MUTATION');
      await expect(page.getByLabel('Field of resource 3')).toHaveValue('addBook');
      await page.getByLabel('Scopes of resource 3').fill('write:books');
      await page.getByRole('button', { name: 'Save resources' }).click();
      await expect(page.getByText('Resources saved.')).toBeVisible();
      await page.getByRole('tab', { name: 'Schema' }).click();
      await expect(page.getByLabel('Schema (SDL)', { exact: true })).toHaveValue(/type Book \{/);
      await shot(page, flow, '03-schema-tab');

      // Browsers call the gateway from the portal's origin.
      await page.getByRole('tab', { name: 'Overview' }).click();
      await page.getByLabel('Enable CORS').check();
      await page.getByLabel('Allowed origins').fill('*');
      await page.getByLabel('Allowed methods').fill('GET, POST');
      await page.getByLabel('Allowed headers').fill('Authorization, Content-Type');
      await page.getByRole('button', { name: 'Save overview' }).click();
      await expect(page.getByText('Saved.')).toBeVisible();

      await page.getByRole('tab', { name: 'Lifecycle' }).click();
      await page.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect(page.getByText('Current state:')).toContainText('PUBLISHED');

      // The consumer subscribes in the Developer Portal and reads the schema.
      const c = await consumer(admin);
      const ctx = await browser.newContext({ baseURL: baseURL() });
      const devPage = await ctx.newPage();
      const devProblems = watchConsole(devPage);
      try {
        await signIn(devPage, c.user.username, c.user.password, `/devportal/apis/${apiId}`);
        await expect(devPage.getByRole('list', { name: 'Operations' })).toContainText('MUTATION addBook');
        await expect(devPage.getByRole('list', { name: 'Operations' })).toContainText('write:books');
        await expect(devPage.getByLabel('GraphQL schema')).toContainText('books(first: Int): [Book!]!');
        await devPage.getByLabel('Application', { exact: true }).selectOption({ label: c.app.name });
        await devPage.getByLabel('Tier', { exact: true }).selectOption('Unlimited');
        await devPage.getByRole('button', { name: 'Subscribe', exact: true }).click();
        await expect(devPage.getByText(`Subscribed ${c.app.name}`)).toBeVisible();

        // The try-it: a query with variables, through the gateway to the backend.
        await expect(devPage.getByRole('heading', { level: 2, name: 'Try it' })).toBeVisible();
        await devPage.getByLabel('Query', { exact: true }).fill('query Books($n: Int) {\n  books(first: $n) {\n    title\n  }\n}\n');
        await devPage.getByLabel('Variables (JSON)').fill('{"n": 2}');
        await devPage.getByLabel('Access token', { exact: true }).fill(c.token);
        const status = devPage.getByLabel('Response status');
        // The gateway applies the deployment and the subscription asynchronously.
        await expect(async () => {
          await devPage.getByRole('button', { name: 'Run query' }).click();
          await expect(status).toHaveText('200', { timeout: 3000 });
        }).toPass({ timeout: 30_000, intervals: [500, 1000, 2000] });
        const result = devPage.getByLabel('Result body');
        await expect(result).toContainText('"title": "Dune"');
        await expect(result).toContainText('"title": "Hyperion"');
        await expect(result).not.toContainText('Solaris');
        // books(first: $n) { title } with n = 2: 1 for books, and its selection (1) twice.
        await expect(devPage.getByLabel('Query cost')).toHaveText('3');
        await shot(devPage, flow, '04-try-it-query');
        const reached = backend.requests.length;

        // A field the schema lacks: the gateway answers with a GraphQL error; the backend hears nothing.
        await devPage.getByLabel('Query', { exact: true }).fill('{ books { isbn } }');
        await devPage.getByLabel('Variables (JSON)').fill('');
        await devPage.getByRole('button', { name: 'Run query' }).click();
        await expect(status).toHaveText('400');
        await expect(result).toContainText('isbn');
        await shot(devPage, flow, '05-try-it-invalid');
        expect(backend.requests.length).toBe(reached);
      } finally {
        await ctx.close();
      }
      expect([...problems, ...devProblems]).toEqual([]);
    } finally {
      await admin.dispose();
    }
  });

  test('an admin creates a query-cost tier with GraphQL depth and complexity bounds', async ({ page }) => {
    const flow = 'graphql-cost-tier';
    const problems = watchConsole(page);
    const policy = `GqlTier${rnd()}`;
    await signIn(page, ADMIN_USERNAME, adminPassword(), '/admin');
    await page.getByRole('link', { name: 'Throttling policies' }).click();
    await page.getByRole('button', { name: 'New subscription policy' }).click();
    await page.getByLabel('Policy name').fill(policy);
    await page.getByLabel('Limit type').selectOption('GRAPHQL_COST');
    await expect(page.getByLabel('Request count')).toHaveCount(0);
    await page.getByLabel('GraphQL maximum depth').fill('0');
    await page.getByRole('button', { name: 'Create policy' }).click();
    await expect(page.getByText(/Cost count must be a whole number/)).toBeVisible();
    await expect(page.getByText(/GraphQL maximum depth must be a whole number/)).toBeVisible();
    await page.getByLabel('Cost count').fill('500');
    await page.getByLabel('GraphQL maximum depth').fill('6');
    await page.getByLabel('GraphQL maximum complexity').fill('200');
    await shot(page, flow, '01-cost-tier-form');
    await page.getByRole('button', { name: 'Create policy' }).click();
    await expect(page.getByText(`Created ${policy}.`)).toBeVisible();
    const row = page.getByRole('table', { name: 'Subscription policies' }).getByRole('row', { name: new RegExp(policy) });
    await expect(row).toContainText('500 query-cost units per minute');
    const admin = await Gql.admin();
    try {
      const stored = await admin.run<{ throttlingPolicies: Array<{ name: string; limitType: string; costCount: number; graphQLMaxDepth: number; graphQLMaxComplexity: number }> }>(
        `{ throttlingPolicies(kind: SUBSCRIPTION) { name limitType costCount graphQLMaxDepth graphQLMaxComplexity } }`,
      );
      expect(stored.throttlingPolicies.find((p) => p.name === policy)).toEqual({
        name: policy,
        limitType: 'GRAPHQL_COST',
        costCount: 500,
        graphQLMaxDepth: 6,
        graphQLMaxComplexity: 200,
      });
    } finally {
      await admin.dispose();
    }
    expect(problems).toEqual([]);
  });
});
