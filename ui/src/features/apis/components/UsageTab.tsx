import { useMemo } from 'react';
import { useQuery } from 'urql';
import { getFragmentData } from '../../../gql';
import { ErrorNotice, Loading } from '../../../components/States';
import { RangePicker, UsageSeriesFields, UsageSeriesView, useUsageRange } from '../../../components/UsageCharts';
import { errorMessage } from '../../../lib/errors';
import { withLivePoints } from '../../../lib/usage';
import { ApiUsageQuery } from '../queries';
import { useLiveUsage, type LiveUsage } from '../useLiveUsage';
import { TokenUsage } from './TokenUsage';

export function UsageTab({ apiId, ai = false }: { apiId: string; ai?: boolean }) {
  const [range, setRange] = useUsageRange('1h');
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ApiUsageQuery,
    variables: { apiId, granularity: range.granularity, from: range.from, to: range.to },
    requestPolicy: 'network-only',
  });
  // Live points are per minute: they extend the "last hour" chart only.
  const liveEnabled = range.granularity === 'MINUTE';
  const live = useLiveUsage(apiId, liveEnabled, range);
  const series = useMemo(() => {
    if (!data) return null;
    const base = getFragmentData(UsageSeriesFields, data.apiUsage);
    return withLivePoints(base, live.points, Date.parse(range.to) - Date.parse(range.from));
  }, [data, live.points, range]);

  return (
    <div className="stack">
      <h2>Usage</h2>
      <RangePicker range={range} onChange={setRange}>
        <LiveIndicator live={live} onReconnect={() => setRange(range.id)} />
      </RangePicker>
      {fetching && !data && <Loading label="Loading usage…" />}
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {series && <UsageSeriesView series={series} />}
      {ai && <TokenUsage of={{ apiId }} range={range} />}
    </div>
  );
}

/** Whether the chart follows the traffic; when it cannot, Refresh usage still works. */
export function LiveIndicator({ live, onReconnect }: { live: LiveUsage; onReconnect: () => void }) {
  let body;
  switch (live.status) {
    case 'off':
      body = <span className="live live-off">Live updates cover the last hour only.</span>;
      break;
    case 'connecting':
      body = <span className="live live-connecting">Connecting to live updates…</span>;
      break;
    case 'live':
      body = (
        <span className="live live-on" title="New traffic appears as it arrives, minute by minute.">
          <span className="live-dot" aria-hidden="true" />
          Live
        </span>
      );
      break;
    default:
      body = (
        <>
          <span className="live live-off">
            {live.status === 'closed' ? 'Live updates ended' : 'Live updates unavailable'}
            {live.error ? `: ${live.error.networkError?.message || errorMessage(live.error)}` : ''}. Use Refresh usage for the latest figures.
          </span>
          <button type="button" className="btn btn-secondary btn-small" onClick={onReconnect}>
            Reconnect
          </button>
        </>
      );
  }
  return (
    <div className="live-area" role="status" aria-live="polite">
      {body}
    </div>
  );
}
