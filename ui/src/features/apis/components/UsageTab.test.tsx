import { describe, expect, it, vi } from 'vitest';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { makeSubject } from 'wonka';
import { CombinedError, type OperationResult } from '@urql/core';
import { mockClient, withClient } from '../../../test/mockClient';
import type { LiveContext } from '../../../lib/live';
import { UsageTab } from './UsageTab';

const point = (at: string, requests: number) => ({
  __typename: 'UsagePoint',
  at,
  requests,
  errors4xx: 0,
  errors5xx: 0,
  throttled: 0,
  latencyAvgMs: 12,
  latencyMaxMs: 30,
  backendLatencyAvgMs: 10,
});

const usage = {
  apiUsage: {
    __typename: 'UsageSeries',
    granularity: 'MINUTE',
    totalRequests: 10,
    points: [point('2024-05-01T10:00:00Z', 4), point('2024-05-01T10:01:00Z', 6)],
  },
};

/** A mock client whose subscriptions the test drives: one subject per executeSubscription. */
function setup() {
  const { client, calls } = mockClient({ ApiUsage: usage });
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
  render(withClient(client, <UsageTab apiId="api-1" />));
  return { client, calls, subs };
}

/** The rows of the Requests chart's data table: [time, requests]. */
function requestRows() {
  const table = within(screen.getByText('Data for Requests').closest('details')!).getByRole('table');
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map((row) => within(row).getAllByRole('cell')[1].textContent);
}

describe('UsageTab live updates', () => {
  it('subscribes for the last hour and merges the points into the minute chart', async () => {
    const { subs } = setup();
    await screen.findByText('Data for Requests');
    expect(subs).toHaveLength(1);
    expect(subs[0].variables).toEqual({ apiId: 'api-1' });
    expect(screen.getByRole('status').textContent).toContain('Connecting to live updates');

    act(() => subs[0].context.onLiveStatus?.('live'));
    expect(screen.getByRole('status').textContent).toBe('Live');

    // The running minute grows, then the next minute starts.
    subs[0].push({ data: { apiUsageLive: point('2024-05-01T10:01:00.000Z', 9) } });
    subs[0].push({ data: { apiUsageLive: point('2024-05-01T10:02:00Z', 2) } });
    expect(requestRows()).toEqual(['4', '9', '2']);
    expect(screen.getByText('15').closest('p')?.textContent).toContain('15 requests in this period');
  });

  it('falls back to on-demand refresh when the socket fails, and can reconnect', async () => {
    const { subs, calls } = setup();
    await screen.findByText('Data for Requests');
    act(() => subs[0].context.onLiveStatus?.('failed'));
    subs[0].push({ error: new CombinedError({ networkError: new Error('the live connection could not be opened') }), hasNext: false });
    const status = screen.getByRole('status');
    expect(status.textContent).toContain('Live updates unavailable: the live connection could not be opened');
    expect(status.textContent).toContain('Use Refresh usage');
    // The chart and the refresh button stay.
    expect(requestRows()).toEqual(['4', '6']);
    const queries = calls.filter((c) => c.name === 'ApiUsage').length;
    const subscriptions = subs.length;
    await userEvent.click(screen.getByRole('button', { name: 'Reconnect' }));
    // Reconnect refetches the series (the minutes missed meanwhile) and subscribes again.
    expect(calls.filter((c) => c.name === 'ApiUsage').length).toBe(queries + 1);
    expect(subs.length).toBe(subscriptions + 1);
    expect(screen.getByRole('status').textContent).toContain('Connecting to live updates');
    act(() => subs.at(-1)!.context.onLiveStatus?.('live'));
    expect(screen.getByRole('status').textContent).toBe('Live');

    // Refresh usage does the same: a new series, a new subscription.
    await userEvent.click(screen.getByRole('button', { name: 'Refresh usage' }));
    expect(calls.filter((c) => c.name === 'ApiUsage').length).toBe(queries + 2);
    expect(subs.length).toBe(subscriptions + 2);
  });

  it('shows the server’s refusal', async () => {
    const { subs } = setup();
    await screen.findByText('Data for Requests');
    subs[0].push({ error: new CombinedError({ graphQLErrors: [{ message: 'you may not see this API' }] }), hasNext: false });
    expect(screen.getByRole('status').textContent).toContain('Live updates unavailable: you may not see this API');
  });

  it('does not subscribe for ranges that are not per minute, and drops old live points on a new range', async () => {
    const { subs } = setup();
    await screen.findByText('Data for Requests');
    act(() => subs[0].context.onLiveStatus?.('live'));
    subs[0].push({ data: { apiUsageLive: point('2024-05-01T10:02:00Z', 2) } });
    expect(requestRows()).toEqual(['4', '6', '2']);

    await userEvent.selectOptions(screen.getByLabelText('Time range'), '24h');
    expect(screen.getByRole('status').textContent).toBe('Live updates cover the last hour only.');
    const count = subs.length;
    expect(requestRows()).toEqual(['4', '6']);

    await userEvent.selectOptions(screen.getByLabelText('Time range'), '1h');
    expect(subs.length).toBe(count + 1);
    expect(requestRows()).toEqual(['4', '6']);
  });
});
