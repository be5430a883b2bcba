import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { GraphQLTryIt, parseVariables, responseCost } from './GraphQLTryIt';

describe('GraphQLTryIt', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('posts the query and variables with the bearer token, and shows the result and its cost', async () => {
    const fetchMock = vi.fn(
      async () =>
        new Response('{"data":{"books":[{"title":"Dune"}]}}', {
          status: 200,
          headers: { 'content-type': 'application/json', 'X-GraphQL-Cost': '11' },
        }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(<GraphQLTryIt gatewayURLs={['http://127.0.0.1:8280/books/1.0.0']} initialQuery={'query {\n  books\n}\n'} />);
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText(/^Variables/));
    await user.paste('{"first": 10}');
    await user.type(screen.getByLabelText(/^Access token/), 'tok-1');
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect((await screen.findByLabelText('Response status')).textContent).toBe('200');
    expect(screen.getByLabelText('Query cost').textContent).toBe('11');
    expect(screen.getByLabelText('Result body').textContent).toContain('"title": "Dune"');
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:8280/books/1.0.0');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok-1');
    expect(JSON.parse(String(init.body))).toEqual({ query: 'query {\n  books\n}\n', variables: { first: 10 } });
  });

  it('refuses bad variables and a missing token without calling, and shows GraphQL errors', async () => {
    const fetchMock = vi.fn(
      async () => new Response('{"errors":[{"message":"the query is 9 deep; the tier allows 5"}]}', { status: 400, headers: { 'content-type': 'application/json' } }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(<GraphQLTryIt gatewayURLs={['http://gw/books/1.0.0']} initialQuery="query { books }" />);
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText(/^Variables/));
    await user.paste('[1]');
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect(screen.getByText(/Variables must be a JSON object/)).toBeTruthy();
    expect(screen.getByText(/An access token is required/)).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();
    await user.clear(screen.getByLabelText(/^Variables/));
    await user.type(screen.getByLabelText(/^Access token/), 't');
    await user.click(screen.getByRole('button', { name: 'Run query' }));
    expect((await screen.findByLabelText('Response status')).textContent).toBe('400');
    expect(screen.getByLabelText('Result body').textContent).toContain('the tier allows 5');
    expect(screen.queryByLabelText('Query cost')).toBeNull();
  });

  it('says so when the API is not deployed', () => {
    render(<GraphQLTryIt gatewayURLs={[]} initialQuery="" />);
    expect(screen.getByText(/not deployed/)).toBeTruthy();
  });
});

describe('GraphQL try-it helpers', () => {
  it('parses variables', () => {
    expect(parseVariables('')).toEqual({});
    expect(parseVariables('{"a":1}')).toEqual({ variables: { a: 1 } });
    expect(parseVariables('{').error).toMatch(/not JSON/);
  });

  it('reads the cost from the header, else from the extensions', () => {
    expect(responseCost('7', null)).toBe('7');
    expect(responseCost(null, { extensions: { cost: 12 } })).toBe('12');
    expect(responseCost(null, { data: {} })).toBeNull();
  });
});
