import { useState, type ReactNode } from 'react';
import { graphql, getFragmentData, type FragmentType } from '../gql';
import type { Granularity, UsageSeriesFieldsFragment } from '../gql/graphql';
import { LineChart } from './LineChart';
import { SelectField } from './Field';
import { Empty } from './States';

export const UsageSeriesFields = graphql(`
  fragment UsageSeriesFields on UsageSeries {
    granularity
    totalRequests
    points {
      at
      requests
      errors4xx
      errors5xx
      throttled
      latencyAvgMs
      latencyMaxMs
      backendLatencyAvgMs
    }
  }
`);

export interface UsageRange {
  id: string;
  granularity: Granularity;
  from: string;
  to: string;
}

const RANGES: Array<{ id: string; label: string; ms: number; granularity: Granularity }> = [
  { id: '1h', label: 'Last hour', ms: 3600_000, granularity: 'MINUTE' },
  { id: '24h', label: 'Last 24 hours', ms: 86400_000, granularity: 'HOUR' },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86400_000, granularity: 'HOUR' },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86400_000, granularity: 'DAY' },
];

export function makeRange(id: string, now = Date.now()): UsageRange {
  const r = RANGES.find((x) => x.id === id) ?? RANGES[0];
  return { id: r.id, granularity: r.granularity, from: new Date(now - r.ms).toISOString(), to: new Date(now).toISOString() };
}

/** Range state: from/to are fixed when the range is picked, so query variables stay stable. */
export function useUsageRange(initial = '1h') {
  const [range, setRange] = useState<UsageRange>(() => makeRange(initial));
  return [range, (id: string) => setRange(makeRange(id))] as const;
}

export function RangePicker({
  range,
  onChange,
  children,
}: {
  range: UsageRange;
  onChange: (id: string) => void;
  children?: ReactNode;
}) {
  return (
    <div className="toolbar">
      <SelectField
        label="Time range"
        value={range.id}
        onChange={onChange}
        options={RANGES.map((r) => ({ value: r.id, label: r.label }))}
      />
      <button type="button" className="btn btn-secondary" onClick={() => onChange(range.id)}>
        Refresh usage
      </button>
      {children}
    </div>
  );
}

export function UsageCharts(props: { series: FragmentType<typeof UsageSeriesFields> }) {
  return <UsageSeriesView series={getFragmentData(UsageSeriesFields, props.series)} />;
}

/** The charts of an unmasked series (one with live points merged in, for instance). */
export function UsageSeriesView({ series }: { series: UsageSeriesFieldsFragment }) {
  const pts = series.points;
  if (pts.length === 0) return <Empty>No traffic in this period.</Empty>;
  const times = pts.map((p) => p.at);
  return (
    <div className="charts">
      <p className="stat">
        <span className="stat-value">{series.totalRequests.toLocaleString()}</span> requests in this period
      </p>
      <LineChart
        title="Requests"
        times={times}
        series={[
          { label: 'Requests', values: pts.map((p) => p.requests) },
          { label: '4xx errors', values: pts.map((p) => p.errors4xx) },
          { label: '5xx errors', values: pts.map((p) => p.errors5xx) },
          { label: 'Throttled', values: pts.map((p) => p.throttled) },
        ]}
      />
      <LineChart
        title="Latency"
        unit="ms"
        times={times}
        series={[
          { label: 'Average latency', values: pts.map((p) => p.latencyAvgMs) },
          { label: 'Maximum latency', values: pts.map((p) => p.latencyMaxMs) },
          { label: 'Average backend latency', values: pts.map((p) => p.backendLatencyAvgMs) },
        ]}
      />
    </div>
  );
}
