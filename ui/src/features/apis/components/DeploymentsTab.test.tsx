import { describe, expect, it, vi } from 'vitest';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { makeSubject } from 'wonka';
import type { OperationResult } from '@urql/core';
import { mockClient } from '../../../test/mockClient';
import type { LiveContext } from '../../../lib/live';
import { SessionProvider } from '../../auth/session';
import { DeploymentsTab } from './DeploymentsTab';

type Answers = Parameters<typeof mockClient>[0];

const revision = (n: number, createdAt: string, description: string | null = `rev ${n}`) => ({
  __typename: 'APIRevision',
  id: `rev-${n}`,
  number: n,
  description,
  createdAt,
});

const deployment = (
  env: string,
  n: number,
  expected: number,
  acked: number,
  ms: number | null,
  gateways: Array<{ id: string; healthy: boolean; acknowledged: boolean }> = [],
) => ({
  __typename: 'Deployment',
  environment: env,
  deployedAt: '2026-12-03T11:00:00Z',
  expectedGateways: expected,
  acknowledgedGateways: acked,
  acknowledgedInMs: ms,
  gateways: gateways.map((g) => ({ __typename: 'DeploymentGateway', ...g })),
  revision: { __typename: 'APIRevision', id: `rev-${n}`, number: n },
});

function apiDeployments(opts: { updatedAt?: string; deployments?: unknown[]; revisions?: unknown[] } = {}) {
  return {
    api: {
      __typename: 'API',
      id: 'api-1',
      updatedAt: opts.updatedAt ?? '2026-12-03T09:00:00Z',
      lifecycleHistory: [{ __typename: 'LifecycleEvent', at: '2026-12-03T08:00:00Z' }],
      revisions: opts.revisions ?? [revision(1, '2026-12-03T09:30:00Z'), revision(2, '2026-12-03T10:30:00Z', null)],
      deployments: opts.deployments ?? [deployment('Default', 1, 2, 1, null)],
    },
    environments: [
      { __typename: 'Environment', name: 'Default', displayName: 'Default' },
      { __typename: 'Environment', name: 'internal', displayName: 'Internal' },
    ],
  };
}

/** The tab inside a session of a user with `roles`; the test drives the live subscription. */
function setup(answers: Answers = {}, roles = ['PUBLISHER']) {
  const { client, calls } = mockClient({
    Me: { me: { __typename: 'User', id: 'u1', username: 'pat', email: null, roles } },
    ApiDeployments: apiDeployments(),
    ...answers,
  });
  const subs: Array<{ context: LiveContext; variables: unknown; push: (r: Partial<OperationResult>) => void }> = [];
  client.executeSubscription = vi.fn((request: { variables: unknown }, context?: LiveContext) => {
    const subject = makeSubject<OperationResult>();
    const ctx = context ?? {};
    subs.push({
      context: ctx,
      variables: request.variables,
      push: (r) =>
        act(() =>
          subject.next({ operation: { kind: 'subscription', context: ctx } as never, stale: false, hasNext: true, ...r } as OperationResult),
        ),
    });
    return subject.source;
  }) as never;
  render(
    <MemoryRouter>
      <SessionProvider client={client}>
        <DeploymentsTab apiId="api-1" />
      </SessionProvider>
    </MemoryRouter>,
  );
  return { calls, subs, user: userEvent.setup({ delay: null }) };
}

const rows = (table: string) =>
  within(screen.getByRole('table', { name: table }))
    .getAllByRole('row')
    .slice(1)
    .map((r) => within(r).getAllByRole('cell').map((c) => c.textContent));

describe('DeploymentsTab', () => {
  it('lists revisions newest first with where each is deployed, and follows the live status', async () => {
    const { subs } = setup();
    await screen.findByRole('table', { name: 'Revisions' });
    const revs = rows('Revisions');
    expect(revs.map((r) => [r[0], r[1], r[3]])).toEqual([
      ['Revision 2', '—', 'not deployed'],
      ['Revision 1', 'rev 1', 'Default'],
    ]);
    expect(screen.getByTestId('deployment-status-Default').textContent).toBe('1 of 2 gateways enforce it');
    expect(subs).toHaveLength(1);
    expect(subs[0].variables).toEqual({ apiId: 'api-1' });

    act(() => subs[0].context.onLiveStatus?.('live'));
    expect(screen.getByRole('status', { name: 'Live status' }).textContent).toBe('Live');
    subs[0].push({ data: { deployments: [deployment('Default', 1, 2, 2, 38)] } });
    expect(screen.getByTestId('deployment-status-Default').textContent).toBe('enforced by 2 of 2 gateways in 38 ms');

    // A deploy elsewhere arrives as a new whole list.
    subs[0].push({ data: { deployments: [deployment('Default', 1, 2, 2, 38), deployment('internal', 2, 1, 0, null)] } });
    expect(rows('Deployments').map((r) => [r[0], r[1], r[3]])).toEqual([
      ['Default', 'Revision 1', 'enforced by 2 of 2 gateways in 38 ms'],
      ['Internal (internal)', 'Revision 2', '0 of 1 gateway enforces it'],
    ]);
    expect(rows('Revisions')[0][3]).toBe('Internal (internal)');
  });

  it('names the gateways that lag and the stale ones', async () => {
    const { subs } = setup();
    await screen.findByRole('table', { name: 'Revisions' });
    act(() => subs[0].context.onLiveStatus?.('live'));
    const gw = (id: string, healthy: boolean, acknowledged: boolean) => ({ id, healthy, acknowledged });
    subs[0].push({
      data: { deployments: [deployment('Default', 1, 2, 1, null, [gw('gw-a', true, true), gw('gw-b', true, false), gw('gw-c', false, false)])] },
    });
    expect(rows('Deployments')[0][3]).toBe('1 of 2 gateways enforce itLagging: gw-bStale, not counted: gw-c');
    subs[0].push({
      data: { deployments: [deployment('Default', 1, 2, 2, 41, [gw('gw-a', true, true), gw('gw-b', true, true), gw('gw-c', false, false)])] },
    });
    expect(rows('Deployments')[0][3]).toBe('enforced by 2 of 2 gateways in 41 msStale, not counted: gw-c');
  });

  it('goes back to the query’s deployments when the live status fails', async () => {
    const { subs } = setup();
    await screen.findByRole('table', { name: 'Revisions' });
    act(() => subs[0].context.onLiveStatus?.('live'));
    subs[0].push({ data: { deployments: [deployment('Default', 1, 2, 2, 38)] } });
    expect(screen.getByTestId('deployment-status-Default').textContent).toBe('enforced by 2 of 2 gateways in 38 ms');
    act(() => subs[0].context.onLiveStatus?.('failed'));
    expect(screen.getByTestId('deployment-status-Default').textContent).toBe('1 of 2 gateways enforce it');
  });

  it('refetches the revisions when a live message names one it has not listed', async () => {
    const { subs, calls } = setup();
    await screen.findByRole('table', { name: 'Revisions' });
    const before = calls.filter((c) => c.name === 'ApiDeployments').length;
    act(() => subs[0].context.onLiveStatus?.('live'));
    subs[0].push({ data: { deployments: [deployment('Default', 1, 2, 2, 38)] } });
    expect(calls.filter((c) => c.name === 'ApiDeployments').length).toBe(before);
    subs[0].push({ data: { deployments: [deployment('Default', 7, 2, 0, null)] } });
    expect(calls.filter((c) => c.name === 'ApiDeployments').length).toBe(before + 1);
  });

  it('offers Reconnect when the live status fails', async () => {
    const { subs, user } = setup();
    await screen.findByRole('table', { name: 'Revisions' });
    act(() => subs[0].context.onLiveStatus?.('failed'));
    expect(screen.getByRole('status', { name: 'Live status' }).textContent).toContain('Live status unavailable');
    await user.click(screen.getByRole('button', { name: 'Reconnect' }));
    expect(subs).toHaveLength(2);
    expect(screen.getByRole('status', { name: 'Live status' }).textContent).toContain('Connecting');
  });

  it('creates a revision, and shows the server’s CONFLICT at the limit', async () => {
    const message = 'API Pets has 5 revisions, the limit; delete one that is not deployed first: revision 2 (id rev-2)';
    let n = 0;
    const { calls, user } = setup({
      CreateRevision: () =>
        ++n === 1
          ? { createRevision: { ...revision(3, '2026-12-03T12:00:00Z', 'new paths') } }
          : { __error: message, __extensions: { code: 'CONFLICT' } },
    });
    const form = within(await screen.findByRole('form', { name: 'Create revision' }));
    await user.type(form.getByLabelText('Revision description'), '  new paths ');
    await user.click(form.getByRole('button', { name: 'Create revision' }));
    expect(calls.find((c) => c.name === 'CreateRevision')?.variables).toEqual({ apiId: 'api-1', description: 'new paths' });
    expect(await screen.findByText('Revision 3 created.')).toBeTruthy();
    expect((form.getByLabelText('Revision description') as HTMLInputElement).value).toBe('');

    await user.click(form.getByRole('button', { name: 'Create revision' }));
    const alert = await form.findByRole('alert');
    expect(alert.textContent).toBe(`Cannot create the revision: ${message}`);
  });

  it('deploys a revision to the environments checked', async () => {
    const { calls, user } = setup({ DeployRevision: { deployRevision: [deployment('internal', 2, 1, 0, null)] } });
    await screen.findByRole('table', { name: 'Revisions' });
    await user.click(screen.getByRole('button', { name: 'Deploy revision 2…' }));
    const form = within(screen.getByRole('form', { name: 'Deploy revision 2' }));
    // Preselected: where the API is deployed now, so a new revision replaces the old one there.
    expect((form.getByLabelText('Default') as HTMLInputElement).checked).toBe(true);
    await user.click(form.getByLabelText('Default'));
    await user.click(form.getByRole('button', { name: 'Deploy revision 2' }));
    expect(form.getByText('Choose at least one environment.')).toBeTruthy();
    expect(calls.some((c) => c.name === 'DeployRevision')).toBe(false);

    await user.click(form.getByLabelText('Internal (internal)'));
    await user.click(form.getByRole('button', { name: 'Deploy revision 2' }));
    expect(calls.find((c) => c.name === 'DeployRevision')?.variables).toEqual({ id: 'rev-2', environments: ['internal'] });
    expect(await screen.findByText('Revision 2 deployed to internal.')).toBeTruthy();
    expect(screen.queryByRole('form', { name: 'Deploy revision 2' })).toBeNull();
  });

  it('shows the server’s message when a deploy is refused', async () => {
    const message = "there is no gateway environment 'internal'; environments: Default";
    const { user } = setup({ DeployRevision: { __error: message, __extensions: { code: 'NOT_FOUND' } } });
    await screen.findByRole('table', { name: 'Revisions' });
    await user.click(screen.getByRole('button', { name: 'Deploy revision 1…' }));
    const form = within(screen.getByRole('form', { name: 'Deploy revision 1' }));
    await user.click(form.getByRole('button', { name: 'Deploy revision 1' }));
    expect((await form.findByRole('alert')).textContent).toBe(`Cannot deploy the revision: ${message}`);
  });

  it('restores and deletes only after confirmation, and undeploys', async () => {
    const conflict = 'revision 1 is deployed to Default: undeploy it there first';
    const { calls, user } = setup({
      RestoreRevision: { restoreRevision: { __typename: 'API', id: 'api-1', updatedAt: '2026-12-03T12:00:00Z' } },
      DeleteRevision: { __error: conflict, __extensions: { code: 'CONFLICT' } },
      UndeployRevision: { undeployRevision: true },
    });
    await screen.findByRole('table', { name: 'Revisions' });
    await user.click(screen.getByRole('button', { name: 'Restore revision 1' }));
    expect(calls.some((c) => c.name === 'RestoreRevision')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Confirm restore' }));
    expect(calls.find((c) => c.name === 'RestoreRevision')?.variables).toEqual({ id: 'rev-1' });
    expect(await screen.findByText('The working copy now equals revision 1.')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Delete revision 1' }));
    expect(calls.some((c) => c.name === 'DeleteRevision')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Confirm delete' }));
    expect((await screen.findByText(conflict, { exact: false })).textContent).toBe(`Cannot delete the revision: ${conflict}`);

    await user.click(screen.getByRole('button', { name: 'Undeploy revision 1 from Default' }));
    await user.click(screen.getByRole('button', { name: 'Confirm undeploy' }));
    expect(calls.find((c) => c.name === 'UndeployRevision')?.variables).toEqual({ id: 'rev-1', environments: ['Default'] });
    expect(await screen.findByText('Revision 1 undeployed from Default.')).toBeTruthy();
  });

  it('says when the working copy differs from the deployed revision', async () => {
    // Edited after revision 1 (deployed) and revision 2 (not deployed).
    setup({ ApiDeployments: apiDeployments({ updatedAt: '2026-12-03T11:30:00Z' }) });
    const note = await screen.findByRole('note', { name: 'Working copy' });
    expect(note.textContent).toContain('The working copy has changes that no revision holds yet');
    expect(note.textContent).toContain('The working copy differs from revision 1, deployed to Default');
  });

  it('says nothing about the working copy when the deployed revision holds the last edit', async () => {
    setup({ ApiDeployments: apiDeployments({ updatedAt: '2026-12-03T09:00:00Z' }) });
    await screen.findByRole('table', { name: 'Revisions' });
    expect(screen.queryByRole('note', { name: 'Working copy' })).toBeNull();
  });

  it('lets creators create revisions but not deploy them', async () => {
    setup({}, ['CREATOR']);
    await screen.findByRole('table', { name: 'Revisions' });
    expect(screen.queryByRole('button', { name: /^Deploy revision/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Undeploy/ })).toBeNull();
    expect(screen.getByText('Only publishers and administrators deploy revisions.')).toBeTruthy();
    expect(screen.getByRole('form', { name: 'Create revision' })).toBeTruthy();
  });

  it('explains an API with no revision and no deployment', async () => {
    setup({ ApiDeployments: apiDeployments({ revisions: [], deployments: [] }) });
    expect(await screen.findByText(/No revision of this API is deployed/)).toBeTruthy();
    expect(screen.getByText(/No revisions yet/)).toBeTruthy();
  });
});
