import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import ApiCreate from './ApiCreate';

const tiers = { throttlingPolicies: [{ __typename: 'ThrottlingPolicy', name: 'Unlimited', description: null, requestCount: null, unitTimeSeconds: 60 }] };

describe('ApiCreate: AI and MCP', () => {
  it('creates an AI API: vendor default endpoint, password key, models and checked prompt guards', async () => {
    const { client, calls } = mockClient({ SubscriptionTiers: tiers, CreateApi: { createAPI: { __typename: 'API', id: 'ai1', name: 'Chat' } } });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText(/^API type/), 'AI');
    const endpoint = screen.getByLabelText(/^Provider endpoint URL/) as HTMLInputElement;
    expect(endpoint.value).toBe('https://api.openai.com/v1');
    await user.selectOptions(screen.getByLabelText(/^Vendor/), 'MISTRAL');
    expect(endpoint.value).toBe('https://api.mistral.ai/v1');
    expect((screen.getByLabelText(/^Provider API key/) as HTMLInputElement).type).toBe('password');
    await user.type(screen.getByLabelText(/^Name/), 'Chat');
    await user.type(screen.getByLabelText(/^Context/), '/chat');
    await user.click(screen.getByRole('button', { name: 'Add model' }));
    await user.type(screen.getByLabelText('Model 1'), 'mistral-small-latest');
    await user.click(screen.getByRole('button', { name: 'Add prompt guard' }));
    await user.type(screen.getByLabelText('Prompt guard 1'), 'a(?=b)');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(screen.getByText('Enter the provider’s API key.')).toBeTruthy();
    expect(screen.getByText(/Lookahead and lookbehind are not supported/)).toBeTruthy();
    expect(calls.some((c) => c.name === 'CreateApi')).toBe(false);

    await user.clear(screen.getByLabelText('Prompt guard 1'));
    await user.type(screen.getByLabelText('Prompt guard 1'), '(?i)secret');
    await user.type(screen.getByLabelText(/^Provider API key/), 'sk-test');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    const input = calls.find((c) => c.name === 'CreateApi')?.variables.input as Record<string, unknown>;
    expect(input).toMatchObject({
      type: 'AI',
      context: '/chat',
      endpoints: { production: ['https://api.mistral.ai/v1'] },
      ai: { vendor: 'MISTRAL', backendKey: 'sk-test', models: ['mistral-small-latest'], promptGuard: ['(?i)secret'] },
    });
  });

  it('creates an MCP server from an API: ticks operations, previews the tools, sends the choice', async () => {
    const source = {
      __typename: 'API',
      id: 'h1',
      name: 'Pets',
      version: '2.0.0',
      context: '/pets',
      type: 'HTTP',
      resources: [
        { __typename: 'Resource', method: 'GET', path: '/pets', scopes: [] },
        { __typename: 'Resource', method: 'DELETE', path: '/pets/{id}', scopes: ['admin'] },
      ],
    };
    const { client, calls } = mockClient({
      MCPSourceApis: { apis: { __typename: 'APIConnection', edges: [{ __typename: 'APIEdge', node: source }] } },
      MCPSourceApi: { api: source },
      MCPToolPreview: {
        mcpToolPreview: [
          { __typename: 'MCPTool', name: 'listPets', description: 'List the pets', inputSchema: '{"type":"object"}', operation: 'GET /pets', scopes: [] },
        ],
      },
      CreateMCPServerFromAPI: { createMCPServerFromAPI: { __typename: 'API', id: 'm1', name: 'Pets MCP' } },
    });
    render(withClient(client, <ApiCreate />, '/publisher/apis/new?type=MCP&from=h1'));
    const user = userEvent.setup({ delay: null });
    const del = await screen.findByLabelText('DELETE /pets/{id}');
    expect((del as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText(/^Context/) as HTMLInputElement).value).toBe('/pets-mcp');
    expect((screen.getByLabelText(/^Version/) as HTMLInputElement).value).toBe('2.0.0');
    await user.click(del);
    await user.click(screen.getByRole('button', { name: 'Preview tools' }));
    expect(calls.find((c) => c.name === 'MCPToolPreview')?.variables).toEqual({ apiId: 'h1', operations: ['GET /pets'] });
    const tool = await screen.findByRole('listitem', { name: 'Tool listPets' });
    expect(within(tool).getByText('List the pets')).toBeTruthy();
    expect(within(tool).getByText('Input schema')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Create MCP server' }));
    expect(calls.find((c) => c.name === 'CreateMCPServerFromAPI')?.variables).toEqual({ apiId: 'h1', context: '/pets-mcp', version: '2.0.0', operations: ['GET /pets'] });
  });

  it('creates a proxied MCP server with its upstream URL and hidden tools', async () => {
    const { client, calls } = mockClient({ SubscriptionTiers: tiers, CreateApi: { createAPI: { __typename: 'API', id: 'p1', name: 'Upstream' } } });
    render(withClient(client, <ApiCreate />));
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText(/^API type/), 'MCP');
    await user.selectOptions(screen.getByLabelText(/^MCP server source/), 'PROXY');
    await user.type(screen.getByLabelText(/^Name/), 'Upstream');
    await user.type(screen.getByLabelText(/^Context/), '/tools');
    await user.type(screen.getByLabelText(/^Upstream MCP server URL/), 'https://tools.example.com/mcp');
    await user.click(screen.getByRole('button', { name: 'Add hidden tool' }));
    await user.type(screen.getByLabelText('Hidden tool 1'), 'delete_everything');
    await user.click(screen.getByRole('button', { name: 'Create API' }));
    expect(calls.find((c) => c.name === 'CreateApi')?.variables.input).toMatchObject({
      type: 'MCP',
      endpoints: { production: ['https://tools.example.com/mcp'] },
      mcp: { hiddenTools: ['delete_everything'] },
    });
  });
});
