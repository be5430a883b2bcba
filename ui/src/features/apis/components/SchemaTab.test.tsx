import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { makeFragmentData } from '../../../gql';
import { mockClient, withClient } from '../../../test/mockClient';
import { ApiSchemaFields } from '../queries';
import { SchemaTab, documentHash, persistedQueriesError } from './SchemaTab';

const sdl = 'type Query {\n  books: [String]\n}\n';
const gql = (over: Record<string, unknown> = {}) =>
  makeFragmentData(
    {
      __typename: 'API',
      id: 'g1',
      type: 'GRAPHQL',
      graphQLSchema: sdl,
      requirePersistedQueries: false,
      persistedQueries: [],
      countEvents: false,
      ...over,
    } as never,
    ApiSchemaFields,
  );

describe('SchemaTab', () => {
  it('saves an edited SDL, and shows the server’s refusal beside it', async () => {
    let n = 0;
    const { client, calls } = mockClient({
      UpdateApi: () =>
        ++n === 1
          ? { __error: 'the resource QUERY books has no field in the new schema', __extensions: { code: 'BAD_USER_INPUT', field: 'input.graphQLSchema' } }
          : { updateAPI: null },
    });
    render(withClient(client, <SchemaTab api={gql()} />));
    const user = userEvent.setup({ delay: null });
    const box = screen.getByLabelText(/^Schema \(SDL\)/);
    expect((box as HTMLTextAreaElement).value).toBe(sdl);
    await user.clear(box);
    await user.click(screen.getByRole('button', { name: 'Save schema' }));
    expect(screen.getByText('The schema is required.')).toBeTruthy();
    await user.click(box);
    await user.paste('type Query { authors: [String] }');
    await user.click(screen.getByRole('button', { name: 'Save schema' }));
    expect(await screen.findByText(/has no field in the new schema/)).toBeTruthy();
    expect(screen.getByLabelText(/^Schema \(SDL\)/).getAttribute('aria-invalid')).toBe('true');
    await user.click(screen.getByRole('button', { name: 'Save schema' }));
    expect(await screen.findByText('Schema saved.')).toBeTruthy();
    expect(calls.filter((c) => c.name === 'UpdateApi').at(-1)?.variables).toEqual({ id: 'g1', input: { graphQLSchema: 'type Query { authors: [String] }' } });
  });

  it('requires persisted queries with hashes of pasted documents, and checks the hashes', async () => {
    const { client, calls } = mockClient({ UpdateApi: { updateAPI: null } });
    render(withClient(client, <SchemaTab api={gql()} />));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText('Require persisted queries'));
    await user.click(screen.getByRole('button', { name: 'Save persisted queries' }));
    expect(screen.getByText(/refuses every call/)).toBeTruthy();
    await user.type(screen.getByLabelText(/^Allowed SHA-256 hashes/), 'abc');
    await user.click(screen.getByRole('button', { name: 'Save persisted queries' }));
    expect(screen.getByText(/abc is not a SHA-256 hash/)).toBeTruthy();
    expect(calls.some((c) => c.name === 'UpdateApi')).toBe(false);
    await user.clear(screen.getByLabelText(/^Allowed SHA-256 hashes/));
    await user.click(screen.getByLabelText(/^Add a document/));
    await user.paste('{ books }');
    await user.click(screen.getByRole('button', { name: 'Add its hash' }));
    const hash = await documentHash('{ books }');
    expect(await screen.findByDisplayValue(hash)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Save persisted queries' }));
    expect(await screen.findByText('Persisted queries saved.')).toBeTruthy();
    expect(calls.find((c) => c.name === 'UpdateApi')?.variables).toEqual({ id: 'g1', input: { requirePersistedQueries: true, persistedQueries: [hash] } });
  });

  it('saves an SSE API’s event counting', async () => {
    const { client, calls } = mockClient({ UpdateApi: { updateAPI: null } });
    render(withClient(client, <SchemaTab api={gql({ type: 'SSE', graphQLSchema: null })} />));
    const user = userEvent.setup({ delay: null });
    await user.click(screen.getByLabelText('Count events'));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Event counting saved.')).toBeTruthy();
    expect(calls[0].variables).toEqual({ id: 'g1', input: { countEvents: true } });
  });
});

describe('persisted query hashes', () => {
  it('hashes a document as SHA-256 hex and accepts only such hashes', async () => {
    expect(await documentHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(persistedQueriesError(['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'])).toBeNull();
    expect(persistedQueriesError(['XYZ'])).toMatch(/XYZ/);
  });
});
