import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import Groups from './Groups';

type Answers = Parameters<typeof mockClient>[0];

const member = (username: string) => ({ __typename: 'User', id: `u-${username}`, username });
const group = (name: string, members: string[]) => ({ __typename: 'Group', name, description: null, members: members.map(member) });

function setup(answers: Answers = {}) {
  const { client, calls } = mockClient({ Groups: { groups: [group('partners', ['alice', 'bob'])] }, ...answers });
  render(withClient(client, <Groups />));
  return { calls, user: userEvent.setup({ delay: null }) };
}

describe('Groups', () => {
  it('edits members by username and sends the whole list', async () => {
    const { calls, user } = setup({
      SetGroupMembers: (v) => ({ setGroupMembers: group(String(v.name), v.usernames as string[]) }),
    });
    const card = within(await screen.findByRole('article', { name: 'Group partners' }));
    const members = card.getByLabelText('Members of partners') as HTMLTextAreaElement;
    expect(members.value).toBe('alice, bob');
    expect((card.getByRole('button', { name: 'Save members' }) as HTMLButtonElement).disabled).toBe(true);
    await user.clear(members);
    await user.type(members, 'alice carol, carol');
    await user.click(card.getByRole('button', { name: 'Save members' }));
    expect(calls.find((c) => c.name === 'SetGroupMembers')?.variables).toEqual({ name: 'partners', usernames: ['alice', 'carol'] });
  });

  it('shows the server refusing an unknown user', async () => {
    const { user } = setup({ SetGroupMembers: { __error: 'no user named "zed"', __extensions: { code: 'BAD_USER_INPUT', field: 'usernames[0]' } } });
    const card = within(await screen.findByRole('article', { name: 'Group partners' }));
    await user.type(card.getByLabelText('Members of partners'), ' zed');
    await user.click(card.getByRole('button', { name: 'Save members' }));
    expect((await card.findByRole('alert')).textContent).toBe('Cannot set the members: no user named "zed"');
  });

  it('validates a new group name before creating it', async () => {
    const { calls, user } = setup({ CreateGroup: (v) => ({ createGroup: group(String(v.name), []) }) });
    const form = within(await screen.findByRole('form', { name: 'Create group' }));
    await user.type(form.getByLabelText('Group name'), 'bad name');
    await user.click(form.getByRole('button', { name: 'Create group' }));
    expect(form.getByText('Use letters, digits, dot, dash or underscore.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'CreateGroup')).toBe(false);
    await user.clear(form.getByLabelText('Group name'));
    await user.type(form.getByLabelText('Group name'), 'eu-partners');
    await user.click(form.getByRole('button', { name: 'Create group' }));
    expect(calls.find((c) => c.name === 'CreateGroup')?.variables).toEqual({ name: 'eu-partners', description: null });
    expect(await form.findByText('Created eu-partners.')).toBeTruthy();
  });

  it('deletes after confirming, and shows a CONFLICT naming the APIs that use the group', async () => {
    const { calls, user } = setup({ DeleteGroup: { __error: 'group partners is used by Pets 1.0', __extensions: { code: 'CONFLICT' } } });
    const card = within(await screen.findByRole('article', { name: 'Group partners' }));
    await user.click(card.getByRole('button', { name: 'Delete group partners' }));
    await user.click(card.getByRole('button', { name: 'Confirm delete' }));
    expect(calls.find((c) => c.name === 'DeleteGroup')?.variables).toEqual({ name: 'partners' });
    expect((await card.findByRole('alert')).textContent).toBe('Cannot delete the group: group partners is used by Pets 1.0');
  });
});
