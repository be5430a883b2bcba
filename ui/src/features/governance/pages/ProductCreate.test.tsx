import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { mockClient, withClient } from '../../../test/mockClient';
import ProductCreate from './ProductCreate';

type Answers = Parameters<typeof mockClient>[0];

const api = (id: string, name: string, type: string, resources: Array<[string, string]>) => ({
  __typename: 'API',
  id,
  name,
  version: '1.0',
  context: `/${id}`,
  type,
  resources: resources.map(([method, path]) => ({ __typename: 'Resource', method, path })),
});

function setup(answers: Answers = {}) {
  const { client, calls } = mockClient({
    ProductSourceApis: {
      apis: {
        __typename: 'APIConnection',
        edges: [
          { __typename: 'APIEdge', node: api('pets', 'Pets', 'HTTP', [['GET', '/pets'], ['POST', '/pets']]) },
          { __typename: 'APIEdge', node: api('orders', 'Orders', 'HTTP', [['GET', '/orders']]) },
          { __typename: 'APIEdge', node: api('bundle', 'Bundle', 'PRODUCT', [['GET', '/x']]) },
        ],
      },
    },
    SubscriptionTiers: {
      throttlingPolicies: [{ __typename: 'ThrottlingPolicy', name: 'Unlimited', description: null, requestCount: null, unitTimeSeconds: 60 }],
    },
    ...answers,
  });
  render(
    withClient(
      client,
      <Routes>
        <Route path="/publisher/products/new" element={<ProductCreate />} />
        <Route path="/publisher/apis/:id" element={<p>Product page</p>} />
      </Routes>,
      '/publisher/products/new',
    ),
  );
  return { calls, user: userEvent.setup({ delay: null }) };
}

describe('ProductCreate', () => {
  it('offers the operations of APIs (not products), and creates the product with the picked ones', async () => {
    const { calls, user } = setup({ CreateAPIProduct: { createAPIProduct: { __typename: 'API', id: 'p1', name: 'Shop' } } });
    await screen.findByRole('group', { name: 'Operations of Pets 1.0' });
    expect(screen.queryByRole('group', { name: /Operations of Bundle/ })).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Create product' }));
    expect(screen.getByText('Pick at least one resource.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'CreateAPIProduct')).toBe(false);

    await user.type(screen.getByLabelText('Product name'), 'Shop');
    await user.type(screen.getByLabelText('Context'), '/shop');
    await user.click(screen.getByLabelText('GET /pets of Pets'));
    await user.click(screen.getByLabelText('GET /orders of Orders'));
    expect(within(screen.getByRole('list', { name: 'Picked resources' })).getAllByRole('listitem')).toHaveLength(2);
    await user.click(screen.getByRole('button', { name: 'Create product' }));
    expect(calls.find((c) => c.name === 'CreateAPIProduct')?.variables).toEqual({
      input: {
        name: 'Shop',
        context: '/shop',
        version: '1.0.0',
        description: null,
        subscriptionTiers: ['Unlimited'],
        resources: [
          { apiId: 'pets', method: 'GET', path: '/pets' },
          { apiId: 'orders', method: 'GET', path: '/orders' },
        ],
      },
    });
    expect(await screen.findByText('Product page')).toBeTruthy();
  });

  it('shows a BAD_USER_INPUT naming a missing operation beside the resources', async () => {
    const { user } = setup({
      CreateAPIProduct: { __error: 'input.resources[0]: Pets 1.0 has no operation DELETE /pets', __extensions: { code: 'BAD_USER_INPUT', field: 'input.resources[0]' } },
    });
    await user.type(await screen.findByLabelText('Product name'), 'Shop');
    await user.type(screen.getByLabelText('Context'), '/shop');
    await user.click(await screen.findByLabelText('POST /pets of Pets'));
    await user.click(screen.getByRole('button', { name: 'Create product' }));
    expect((await screen.findByRole('alert')).textContent).toBe('input.resources[0]: Pets 1.0 has no operation DELETE /pets');
  });
});
