import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { parseOpenAPI } from '../../../lib/openapi';
import { Operations } from './Operations';

const doc = JSON.stringify({
  openapi: '3.0.0',
  info: { title: 'Petstore', version: '1' },
  paths: {
    '/pets': { get: { summary: 'List all pets', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }] } },
    '/pets/{petId}': { get: { summary: 'Info for a <b>pet</b>' } },
  },
});

describe('Operations', () => {
  it('renders each operation with method, path, summary and parameters', () => {
    const parsed = parseOpenAPI(doc);
    render(<Operations operations={parsed.operations} />);
    const list = screen.getByRole('list', { name: 'Operations' });
    const items = within(list).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[0].textContent).toContain('GET');
    expect(items[0].textContent).toContain('/pets');
    expect(items[0].textContent).toContain('List all pets');
    const params = screen.getByRole('table', { name: 'Parameters of GET /pets' });
    expect(within(params).getByText('limit')).toBeTruthy();
    expect(within(params).getByText('integer')).toBeTruthy();
    // summaries are text, never HTML
    expect(items[1].querySelector('b')).toBeNull();
    expect(items[1].textContent).toContain('Info for a <b>pet</b>');
    // path parameters derived from the template
    expect(screen.getByRole('table', { name: 'Parameters of GET /pets/{petId}' }).textContent).toContain('petId');
  });

  it('shows the parse error and the empty state', () => {
    const { rerender } = render(<Operations operations={[]} error="The API definition is not valid JSON." />);
    expect(screen.getByRole('alert').textContent).toContain('not valid JSON');
    rerender(<Operations operations={[]} />);
    expect(screen.getByText(/lists no operations/)).toBeTruthy();
  });
});
