import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import Tasks from './Tasks';

type Answers = Parameters<typeof mockClient>[0];

const user = (username: string) => ({ __typename: 'User', id: `u-${username}`, username });
const task = (id: string, status: string, subject: string, extra: Record<string, unknown> = {}) => ({
  __typename: 'WorkflowTask',
  id,
  type: 'SUBSCRIPTION_CREATION',
  status,
  subject,
  createdAt: '2026-12-03T09:00:00Z',
  decidedAt: status === 'PENDING' ? null : '2026-12-03T10:00:00Z',
  comment: status === 'PENDING' ? null : 'ok',
  requestedBy: user('dev'),
  decidedBy: status === 'PENDING' ? null : user('admin'),
  ...extra,
});

function setup(answers: Answers = {}) {
  const { client, calls } = mockClient({
    WorkflowTasks: {
      pending: [task('t2', 'PENDING', 'Subscribe app2 to Pets'), task('t1', 'PENDING', 'Subscribe app1 to Pets', { createdAt: '2026-12-03T08:00:00Z' })],
      approved: [task('t0', 'APPROVED', 'Subscribe app0 to Pets')],
      rejected: [],
    },
    ...answers,
  });
  render(withClient(client, <Tasks />));
  return { calls, user: userEvent.setup({ delay: null }) };
}

describe('Tasks', () => {
  it('lists pending tasks first (oldest first), then decided ones with who decided', async () => {
    setup();
    const table = await screen.findByRole('table', { name: 'Tasks' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[1].textContent)).toEqual([
      'Subscribe app1 to Pets',
      'Subscribe app2 to Pets',
      'Subscribe app0 to Pets',
    ]);
    expect(rows[2].textContent).toMatch(/by admin/);
    expect(within(rows[2]).queryByRole('button', { name: /Approve/ })).toBeNull();
    expect(screen.getByText('2 pending')).toBeTruthy();
  });

  it('approves with the comment typed', async () => {
    const { calls, user } = setup({
      DecideWorkflowTask: (v) => ({ decideWorkflowTask: task(String(v.id), v.approve ? 'APPROVED' : 'REJECTED', 'Subscribe app1 to Pets') }),
    });
    await user.type(await screen.findByLabelText('Comment on Subscribe app1 to Pets'), 'fine by me');
    await user.click(screen.getByRole('button', { name: 'Approve Subscribe app1 to Pets' }));
    expect(calls.find((c) => c.name === 'DecideWorkflowTask')?.variables).toEqual({ id: 't1', approve: true, comment: 'fine by me' });
  });

  it('rejects without a comment as null, and shows a CONFLICT when the task was already decided', async () => {
    const { calls, user } = setup({
      DecideWorkflowTask: { __error: 'task t2 is already APPROVED', __extensions: { code: 'CONFLICT' } },
    });
    await user.click(await screen.findByRole('button', { name: 'Reject Subscribe app2 to Pets' }));
    expect(calls.find((c) => c.name === 'DecideWorkflowTask')?.variables).toEqual({ id: 't2', approve: false, comment: null });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('Already decided: task t2 is already APPROVED');
  });

  it('says when there is nothing to decide', async () => {
    setup({ WorkflowTasks: { pending: [], approved: [], rejected: [] } });
    expect(await screen.findByText(/No tasks/)).toBeTruthy();
  });
});
