// AI APIs and MCP servers in the portals. A publisher makes an MCP server from an HTTP API's
// page: ticks some of its operations, previews the tools (from mcpToolPreview), creates it,
// and sees its tools with their operations and scopes, and its URL; once published, the
// Developer Portal shows a ready-to-paste MCP client configuration. A publisher creates an
// AI API with a provider key, which is never shown back: the settings say a key is stored,
// and the key can be replaced.
import { GraphQLError, Gql } from './helpers/graphql';
import { expect, test } from './helpers/test';
import { rnd, uniqueContext, uniqueName } from './helpers/names';
import { createApi, createUser, publish } from './helpers/seed';
import { shot, signIn, watchConsole } from './helpers/ui';

test.describe('MCP servers and AI APIs', () => {
  test('an MCP server made from an HTTP API in the Publisher shows its tools; the Developer Portal its client configuration', async ({ page }) => {
    const flow = 'mcp-from-api';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    const pubGql = await Gql.login(pub.username, pub.password);
    try {
      const source = await createApi(pubGql, {
        endpoint: 'http://127.0.0.1:9/',
        name: uniqueName('Pets'),
        resources: [
          { method: 'GET', path: '/pets' },
          { method: 'GET', path: '/pets/{petId}' },
          { method: 'DELETE', path: '/pets/{petId}' },
        ],
      });
      await signIn(page, pub.username, pub.password, `/publisher/apis/${source.id}`);
      await page.getByRole('link', { name: 'Create MCP server' }).click();
      const form = page.getByRole('form', { name: 'Create MCP server from an API' });
      await expect(form.getByLabel('Source API', { exact: true })).toHaveValue(source.id);
      // Every operation starts ticked; DELETE is left out.
      const del = form.getByRole('checkbox', { name: 'DELETE /pets/{petId}' });
      await expect(del).toBeChecked();
      await del.uncheck();
      const context = uniqueContext('pets-mcp');
      await form.getByLabel('Context', { exact: true }).fill(context);
      await form.getByRole('button', { name: 'Preview tools' }).click();
      const preview = form.getByRole('list', { name: 'Tools' });
      await expect(preview.getByRole('listitem')).toHaveCount(2);
      await expect(preview).toContainText('GET /pets/{petId}');
      await expect(preview).not.toContainText('DELETE');
      // The input schema is collapsed until asked for; the path parameter is an argument.
      const withParam = preview.getByRole('listitem').filter({ hasText: 'GET /pets/{petId}' });
      await expect(withParam.locator('pre')).toBeHidden();
      await withParam.getByText('Input schema').click();
      await expect(withParam.locator('pre')).toContainText('petId');
      await shot(page, flow, '1-preview');

      await form.getByRole('button', { name: 'Create MCP server' }).click();
      await expect(page).toHaveURL(/\/publisher\/apis\/[^/]+\/mcp$/);
      const mcpId = page.url().split('/').slice(-2)[0];
      await expect(page.getByRole('heading', { name: /Tools \(2\)/ })).toBeVisible();
      const tools = page.getByRole('list', { name: 'Tools' });
      await expect(tools.getByRole('listitem')).toHaveCount(2);
      await expect(tools).toContainText('GET /pets');
      await expect(tools).toContainText('GET /pets/{petId}');
      await expect(tools).not.toContainText('DELETE');
      await expect(page.getByRole('link', { name: `${source.name} ${source.version}` })).toBeVisible();
      const urls = page.getByRole('list', { name: 'MCP URLs' });
      await expect(urls).toContainText(`${context}/1.0.0/mcp`);
      await shot(page, flow, '2-tools');

      // Published, the server's page in the Developer Portal offers a client configuration.
      await publish(pubGql, mcpId);
      await page.goto(`/devportal/apis/${mcpId}`);
      const config = page.getByRole('region', { name: 'MCP client configuration' }).locator('pre');
      await expect(config).toContainText('"mcpServers"');
      await expect(config).toContainText(`${context}/1.0.0/mcp`);
      await expect(config).toContainText('Bearer <token>');
      await shot(page, flow, '3-devportal');
      expect(problems).toEqual([]);
    } finally {
      await pubGql.dispose();
      await admin.dispose();
    }
  });

  test('an AI API created in the Publisher never shows its provider key back', async ({ page }) => {
    const flow = 'ai-api';
    const problems = watchConsole(page);
    const admin = await Gql.admin();
    const pub = await createUser(admin, ['PUBLISHER'], 'pub');
    try {
      // The AI control plane (createAPI with type AI) may not be merged into this build.
      const probe = await Gql.login(pub.username, pub.password);
      try {
        await probe.run(`mutation($input: CreateAPIInput!) { createAPI(input: $input) { id } }`, {
          input: { name: uniqueName('probe'), context: uniqueContext('probe'), version: '1.0.0', type: 'AI', endpoints: { type: 'SINGLE', production: ['https://api.openai.com/v1'] }, ai: { vendor: 'OPENAI', backendKey: 'k' }, subscriptionTiers: ['Unlimited'] },
        });
      } catch (err) {
        test.skip(err instanceof GraphQLError && /not available yet/.test(err.message), 'this server does not create AI APIs yet (ai-cp not merged)');
        throw err;
      } finally {
        await probe.dispose();
      }

      const key = `sk-e2e-${rnd(24)}`;
      await signIn(page, pub.username, pub.password, '/publisher/apis/new');
      await page.getByLabel('API type', { exact: true }).selectOption('AI');
      await page.getByLabel('Vendor', { exact: true }).selectOption('OPENAI');
      await expect(page.getByLabel('Provider endpoint URL', { exact: true })).toHaveValue('https://api.openai.com/v1');
      await page.getByLabel('Name', { exact: true }).fill(uniqueName('Chat'));
      await page.getByLabel('Context', { exact: true }).fill(uniqueContext('chat'));
      const keyInput = page.getByLabel('Provider API key', { exact: true });
      await expect(keyInput).toHaveAttribute('type', 'password');
      await keyInput.fill(key);
      await page.getByRole('button', { name: 'Add model' }).click();
      await page.getByLabel('Model 1', { exact: true }).fill('gpt-4o-mini');
      await page.getByRole('button', { name: 'Add prompt guard' }).click();
      await page.getByLabel('Prompt guard 1', { exact: true }).fill('(?i)\\bpassword\\b');
      // Every GraphQL answer from now on is checked for the key.
      const answers: string[] = [];
      page.on('response', async (res) => {
        if (res.url().endsWith('/graphql')) answers.push(await res.text().catch(() => ''));
      });
      await page.getByRole('button', { name: 'Create API' }).click();
      await expect(page).toHaveURL(/\/publisher\/apis\/[^/]+$/);

      await page.getByRole('tab', { name: 'AI settings' }).click();
      const settings = page.getByRole('form', { name: 'AI settings' });
      await expect(settings.getByLabel('Provider key status')).toHaveText(/A key is stored/);
      await expect(settings.getByLabel('Model 1', { exact: true })).toHaveValue('gpt-4o-mini');
      await expect(settings.getByLabel('Prompt guard 1', { exact: true })).toHaveValue('(?i)\\bpassword\\b');
      await shot(page, flow, '1-settings');

      // Replacing the key: a new password field; the stored one still never appears.
      await settings.getByRole('button', { name: 'Replace key' }).click();
      await settings.getByLabel('New provider key', { exact: true }).fill(`${key}-2`);
      await settings.getByRole('button', { name: 'Save AI settings' }).click();
      await expect(settings.getByRole('status')).toHaveText('Saved.');
      await expect(settings.getByLabel('New provider key', { exact: true })).toHaveCount(0);
      await page.reload();
      await expect(page.getByRole('form', { name: 'AI settings' }).getByLabel('Provider key status')).toHaveText(/A key is stored/);
      expect(await page.content()).not.toContain(key);
      expect(answers.length).toBeGreaterThan(0);
      for (const a of answers) expect(a).not.toContain(key);
      expect(problems).toEqual([]);
    } finally {
      await admin.dispose();
    }
  });
});
