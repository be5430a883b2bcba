import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import { AccessTab } from './AccessTab';

type Answers = Parameters<typeof mockClient>[0];

const api = {
  __typename: 'API',
  id: 'api-1',
  type: 'HTTP',
  visibility: 'PUBLIC',
  visibleToGroups: [],
  editableByGroups: [],
  pendingLifecycleAction: null,
  updatedAt: '2026-12-03T09:00:00Z',
  productResources: [],
};

function setup(answers: Answers = {}) {
  const { client, calls } = mockClient({ GroupNames: { groups: [{ __typename: 'Group', name: 'partners' }] }, ...answers });
  render(withClient(client, <AccessTab api={api as never} />));
  return { calls, user: userEvent.setup({ delay: null }) };
}

describe('AccessTab', () => {
  it('restricts an API to a group picked from the list and sends the edit groups too', async () => {
    const { calls, user } = setup({
      UpdateApiGovernance: (v) => ({ updateAPI: { ...api, ...(v.input as object), updatedAt: '2026-12-03T10:00:00Z' } }),
    });
    await user.click(screen.getByLabelText(/^Restricted/));
    await user.click(screen.getByRole('button', { name: 'Save access settings' }));
    expect(screen.getByText('Choose at least one group that may see the API.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'UpdateApiGovernance')).toBe(false);

    const boxes = await screen.findAllByLabelText('partners');
    await user.click(boxes[0]); // visible to
    await user.type(screen.getByLabelText('Add a group by name (editable by groups)'), 'core-team{Enter}');
    await user.click(screen.getByRole('button', { name: 'Save access settings' }));
    expect(calls.find((c) => c.name === 'UpdateApiGovernance')?.variables).toEqual({
      id: 'api-1',
      input: { visibility: 'RESTRICTED', visibleToGroups: ['partners'], editableByGroups: ['core-team'] },
    });
  });

  it('works for publishers who may not list groups: names are typed', async () => {
    setup({ GroupNames: { __error: 'forbidden', __extensions: { code: 'FORBIDDEN' } } });
    await userEvent.setup({ delay: null }).click(screen.getByLabelText(/^Restricted/));
    expect(screen.getAllByText('No groups yet.').length).toBeGreaterThan(0);
    expect(screen.getByLabelText('Add a group by name (visible to groups)')).toBeTruthy();
  });
});
