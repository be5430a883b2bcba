import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { mockClient, withClient } from '../../../test/mockClient';
import Runtimes from './Runtimes';

const runtime = (id: string, kind: string, revision: number | null) => ({
  __typename: 'RuntimeInstance',
  id,
  kind,
  address: 'in-process',
  revision,
  lastSeen: '2026-12-03T09:00:00Z',
  healthy: true,
  environments: kind === 'GATEWAY' ? ['internal', 'Default'] : [],
});

/** The "Applied revision" cell of the row for instance `id`. */
function appliedRevision(id: string) {
  const row = screen.getByRole('cell', { name: id }).closest('tr')!;
  return within(row).getAllByRole('cell')[4].textContent;
}

/** The "Environments" cell of the row for instance `id`. */
function environments(id: string) {
  const row = screen.getByRole('cell', { name: id }).closest('tr')!;
  return within(row).getAllByRole('cell')[3].textContent;
}

describe('Runtimes', () => {
  const cases: Array<{ desc: string; id: string; kind: string; revision: number | null; want: string }> = [
    { desc: 'a gateway at the current revision is up to date', id: 'gw-1', kind: 'GATEWAY', revision: 9, want: '9 (up to date)' },
    { desc: 'a gateway at an older revision is behind', id: 'gw-2', kind: 'GATEWAY', revision: 6, want: '6 (3 behind)' },
    { desc: 'a traffic manager has no revision to lag', id: 'tm-1', kind: 'TRAFFIC_MANAGER', revision: null, want: '— (applies no control events)' },
  ];
  it.each(cases)('$desc', async ({ id, kind, revision, want }) => {
    const { client } = mockClient({
      ControlPlaneStatus: { controlPlaneStatus: { __typename: 'ControlPlaneStatus', revision: 9, runtimes: [runtime(id, kind, revision)] } },
    });
    render(withClient(client, <Runtimes />));
    await screen.findByRole('table', { name: 'Runtimes' });
    expect(appliedRevision(id)).toBe(want);
    // A gateway's environments in its order of preference; none for other kinds.
    expect(environments(id)).toBe(kind === 'GATEWAY' ? 'internal, Default' : '—');
  });
});
