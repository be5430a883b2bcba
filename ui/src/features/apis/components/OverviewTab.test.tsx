import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { makeFragmentData } from '../../../gql';
import type { ApiOverviewFieldsFragment } from '../../../gql/graphql';
import { mockClient, withClient } from '../../../test/mockClient';
import { ApiOverviewFields } from '../queries';
import { OverviewTab, serverFieldKey } from './OverviewTab';

function overview(change: Partial<ApiOverviewFieldsFragment> = {}) {
  const base: ApiOverviewFieldsFragment = {
    id: 'api-1',
    type: 'HTTP',
    name: 'Pets',
    context: '/pets',
    version: '1.0.0',
    description: null,
    tags: [],
    isDefaultVersion: false,
    throttlingPolicy: null,
    provider: { id: 'u1', username: 'pat' },
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-02T00:00:00Z',
    gatewayURLs: [],
    endpoints: { type: 'SINGLE', production: ['http://backend:8080'], sandbox: [], timeoutMs: 30000, retries: 0, circuitBreaker: null },
    responseCache: { enabled: false, ttlSeconds: 300, maxBodyBytes: 1048576 },
    validateRequests: false,
    cors: { enabled: false, allowOrigins: [], allowMethods: [], allowHeaders: [], allowCredentials: false },
  };
  return makeFragmentData({ ...base, ...change }, ApiOverviewFields);
}

const answers = { AdvancedPolicies: { throttlingPolicies: [] }, UpdateApi: { updateAPI: null } };

describe('OverviewTab endpoint settings', () => {
  it('sends the cache, validation, circuit breaker and retries with the endpoints', async () => {
    const { client, calls } = mockClient(answers);
    render(withClient(client, <OverviewTab api={overview()} />));
    const user = userEvent.setup({ delay: null });
    expect(screen.queryByLabelText('Failure threshold')).toBeNull();
    expect(screen.queryByLabelText('Cache TTL (seconds)')).toBeNull();
    await user.click(screen.getByLabelText('Circuit breaker'));
    await user.clear(screen.getByLabelText('Failure threshold'));
    await user.type(screen.getByLabelText('Failure threshold'), '3');
    await user.clear(screen.getByLabelText('Open for (seconds)'));
    await user.type(screen.getByLabelText('Open for (seconds)'), '10');
    await user.clear(screen.getByLabelText('Retries'));
    await user.type(screen.getByLabelText('Retries'), '2');
    await user.click(screen.getByLabelText('Cache responses'));
    await user.clear(screen.getByLabelText('Cache TTL (seconds)'));
    await user.type(screen.getByLabelText('Cache TTL (seconds)'), '60');
    await user.clear(screen.getByLabelText('Largest cached body (bytes)'));
    await user.type(screen.getByLabelText('Largest cached body (bytes)'), '65536');
    await user.click(screen.getByLabelText('Validate requests'));
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    const input = calls.find((c) => c.name === 'UpdateApi')?.variables.input as Record<string, unknown>;
    expect(input.endpoints).toEqual({
      type: 'SINGLE',
      production: ['http://backend:8080'],
      sandbox: [],
      timeoutMs: 30000,
      retries: 2,
      circuitBreaker: { failureThreshold: 3, openSeconds: 10 },
    });
    expect(input.responseCache).toEqual({ enabled: true, ttlSeconds: 60, maxBodyBytes: 65536 });
    expect(input.validateRequests).toBe(true);
  });

  it('turns the circuit breaker off with null, and refuses a TTL that is not a whole number', async () => {
    const { client, calls } = mockClient(answers);
    const api = overview({
      endpoints: { type: 'SINGLE', production: ['http://backend:8080'], sandbox: [], timeoutMs: 30000, retries: 1, circuitBreaker: { failureThreshold: 5, openSeconds: 30 } },
      responseCache: { enabled: true, ttlSeconds: 120, maxBodyBytes: 4096 },
    });
    render(withClient(client, <OverviewTab api={api} />));
    const user = userEvent.setup({ delay: null });
    expect((screen.getByLabelText('Failure threshold') as HTMLInputElement).value).toBe('5');
    await user.clear(screen.getByLabelText('Cache TTL (seconds)'));
    await user.type(screen.getByLabelText('Cache TTL (seconds)'), '1.5');
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    expect(screen.getByText('Cache TTL must be a whole number.')).toBeTruthy();
    await user.clear(screen.getByLabelText('Retries'));
    await user.type(screen.getByLabelText('Retries'), '6');
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    expect(screen.getByText('Retries must be at most 5.')).toBeTruthy();
    await user.clear(screen.getByLabelText('Retries'));
    await user.type(screen.getByLabelText('Retries'), '1');
    expect(calls.some((c) => c.name === 'UpdateApi')).toBe(false);

    await user.click(screen.getByLabelText('Cache responses'));
    await user.click(screen.getByLabelText('Circuit breaker'));
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    const input = calls.find((c) => c.name === 'UpdateApi')?.variables.input as { endpoints: Record<string, unknown>; responseCache: unknown };
    expect(input.endpoints.circuitBreaker).toBeNull();
    expect(input.endpoints.retries).toBe(1);
    // Off keeps the numbers, so turning caching on again restores them.
    expect(input.responseCache).toEqual({ enabled: false, ttlSeconds: 120, maxBodyBytes: 4096 });
  });

  it('hides the URLs for MOCK, sends none, and previews what each resource answers', async () => {
    const { client, calls } = mockClient({
      ...answers,
      MockPreview: {
        api: {
          id: 'api-1',
          mockPreview: [
            { method: 'GET', path: '/pets/{petId}', status: 200, contentType: 'application/json', body: '{"id":1,"name":"Rex"}' },
            { method: 'POST', path: '/pets', status: 201, contentType: 'text/plain', body: '' },
          ],
        },
      },
    });
    const api = overview({
      endpoints: { type: 'MOCK', production: [], sandbox: [], timeoutMs: 30000, retries: 0, circuitBreaker: null },
    });
    render(withClient(client, <OverviewTab api={api} />));
    const user = userEvent.setup({ delay: null });
    expect(screen.queryByLabelText('Production endpoints')).toBeNull();
    expect(screen.queryByLabelText('Sandbox endpoints')).toBeNull();
    const table = await screen.findByRole('table', { name: 'Mock answers' });
    const rows = within(table).getAllByRole('row');
    expect(rows[1].textContent).toBe('GET/pets/{petId}200application/json{"id":1,"name":"Rex"}');
    expect(rows[2].textContent).toBe('POST/pets201text/plain(empty)');
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    const input = calls.find((c) => c.name === 'UpdateApi')?.variables.input as { endpoints: Record<string, unknown> };
    expect(input.endpoints).toMatchObject({ type: 'MOCK', production: [], sandbox: [] });

    // Back to a real backend: the URLs are there again and required.
    await user.selectOptions(screen.getByLabelText('Endpoint type'), 'SINGLE');
    expect(screen.queryByRole('table', { name: 'Mock answers' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    expect(screen.getByText('Production endpoints: at least one URL is required.')).toBeTruthy();
  });

  it('asks for a save before previewing a type just switched to MOCK', async () => {
    const { client, calls } = mockClient(answers);
    render(withClient(client, <OverviewTab api={overview()} />));
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText('Endpoint type'), 'MOCK');
    expect(screen.getByText('Save with the Mock type to see what each resource answers.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'MockPreview')).toBe(false);
  });

  it('shows the server’s BAD_USER_INPUT next to the field it names', async () => {
    const message = 'input.responseCache.ttlSeconds: must be 1 to 86400 seconds, not 600';
    const { client } = mockClient({
      AdvancedPolicies: { throttlingPolicies: [] },
      UpdateApi: { __error: message, __extensions: { code: 'BAD_USER_INPUT', field: 'input.responseCache.ttlSeconds' } },
    });
    render(withClient(client, <OverviewTab api={overview({ responseCache: { enabled: true, ttlSeconds: 600, maxBodyBytes: 10 } })} />));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByRole('button', { name: 'Save overview' }));
    expect((await screen.findByRole('alert')).textContent).toContain(message);
    const ttl = screen.getByLabelText('Cache TTL (seconds)');
    expect(ttl.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (ttl.getAttribute('aria-describedby') ?? '').split(' ');
    expect(describedBy.map((id) => document.getElementById(id)?.textContent)).toContain('must be 1 to 86400 seconds, not 600');
  });

  it('maps server fields to form fields', () => {
    expect(serverFieldKey('input.endpoints.circuitBreaker.openSeconds')).toBe('openSeconds');
    expect(serverFieldKey('input.endpoints.production[1]')).toBe('production');
    expect(serverFieldKey('input.endpoints.retries')).toBe('retries');
    expect(serverFieldKey('input.resources[0].path')).toBeUndefined();
    expect(serverFieldKey(undefined)).toBeUndefined();
  });
});
