import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { parseOpenAPI } from '../../../lib/openapi';
import { TryIt } from './TryIt';

const ops = parseOpenAPI(
  JSON.stringify({
    openapi: '3.0.0',
    info: { title: 'P', version: '1' },
    paths: {
      '/pets': { get: { summary: 'List', parameters: [{ name: 'limit', in: 'query' }] } },
      '/pets/{petId}': { get: { summary: 'One' } },
    },
  }),
).operations;

describe('TryIt', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('calls the gateway with the bearer token and shows the response', async () => {
    const fetchMock = vi.fn(
      async () => new Response('{"id":"7","name":"Rex"}', { status: 200, statusText: 'OK', headers: { 'content-type': 'application/json' } }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(<TryIt gatewayURLs={['http://127.0.0.1:8280/pets/1.0.0']} operations={ops} />);
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText('Operation'), 'GET /pets/{petId}');
    await user.type(screen.getByLabelText(/Path parameter petId/), '7');
    await user.type(screen.getByLabelText(/Access token/), 'tok-123');
    await user.click(screen.getByRole('button', { name: 'Send request' }));
    expect((await screen.findByLabelText('Response status')).textContent).toContain('200');
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:8280/pets/1.0.0/pets/7');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok-123');
    expect(init.method).toBe('GET');
    expect(screen.getByRole('region', { name: 'Response body' }).textContent).toContain('"name": "Rex"');
  });

  it('asks for missing path parameters and the token before calling', async () => {
    const fetchMock = vi.fn();
    vi.stubGlobal('fetch', fetchMock);
    render(<TryIt gatewayURLs={['http://gw/pets/1']} operations={ops} />);
    const user = userEvent.setup({ delay: null });
    await user.selectOptions(screen.getByLabelText('Operation'), 'GET /pets/{petId}');
    await user.click(screen.getByRole('button', { name: 'Send request' }));
    expect(screen.getByRole('alert').textContent).toContain('petId');
    await user.type(screen.getByLabelText(/Path parameter petId/), '1');
    await user.click(screen.getByRole('button', { name: 'Send request' }));
    expect(screen.getByText(/access token is required/)).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
