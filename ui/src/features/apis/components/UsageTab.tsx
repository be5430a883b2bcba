import { useQuery } from 'urql';
import { ErrorNotice, Loading } from '../../../components/States';
import { RangePicker, UsageCharts, useUsageRange } from '../../../components/UsageCharts';
import { ApiUsageQuery } from '../queries';

export function UsageTab({ apiId }: { apiId: string }) {
  const [range, setRange] = useUsageRange('1h');
  const [{ data, fetching, error }, refetch] = useQuery({
    query: ApiUsageQuery,
    variables: { apiId, granularity: range.granularity, from: range.from, to: range.to },
    requestPolicy: 'network-only',
  });
  return (
    <div className="stack">
      <h2>Usage</h2>
      <RangePicker range={range} onChange={setRange} />
      {fetching && !data && <Loading label="Loading usage…" />}
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {data && <UsageCharts series={data.apiUsage} />}
    </div>
  );
}
