import { useMemo } from 'react';
import { useQuery } from 'urql';
import { LineChart } from '../../../components/LineChart';
import { Empty, ErrorNotice, Loading } from '../../../components/States';
import type { UsageRange } from '../../../components/UsageCharts';
import { getFragmentData } from '../../../gql';
import type { TokenUsageFieldsFragment } from '../../../gql/graphql';
import { tokensByModelTotals } from '../../../lib/ai';
import { ApiTokenUsageQuery, ApplicationTokenUsageQuery, TokenUsageFields } from '../queries';

/**
 * AI token usage over a range: prompt, completion and total tokens over time, and per model
 * (requests, tokens, how many requests' usage the gateway estimated, provider latency).
 * For an application it shows only when some of its traffic went to AI APIs.
 */
export function TokenUsage({ of, range }: { of: { apiId: string } | { applicationId: string }; range: UsageRange }) {
  const vars = { granularity: range.granularity, from: range.from, to: range.to };
  const isApi = 'apiId' in of;
  const [apiRes] = useQuery({ query: ApiTokenUsageQuery, variables: { apiId: isApi ? of.apiId : '', ...vars }, pause: !isApi, requestPolicy: 'network-only' });
  const [appRes] = useQuery({
    query: ApplicationTokenUsageQuery,
    variables: { applicationId: isApi ? '' : of.applicationId, ...vars },
    pause: isApi,
    requestPolicy: 'network-only',
  });
  const res = isApi ? apiRes : appRes;
  const raw = isApi ? apiRes.data?.apiUsage : appRes.data?.applicationUsage;
  const series = raw ? getFragmentData(TokenUsageFields, raw) : undefined;
  if (res.fetching && !series) return <Loading label="Loading token usage…" />;
  if (res.error && !series) return <ErrorNotice error={res.error} title="Cannot load token usage" />;
  if (!series) return null;
  const used = series.tokensByModel.length > 0 || series.points.some((p) => p.totalTokens > 0);
  if (!isApi && !used) return null;
  return (
    <section aria-labelledby="token-usage-title" className="stack">
      <h3 id="token-usage-title">AI tokens</h3>
      {used ? <TokenUsageView series={series} /> : <Empty>No tokens used in this period.</Empty>}
    </section>
  );
}

export function TokenUsageView({ series }: { series: TokenUsageFieldsFragment }) {
  const byModel = useMemo(() => tokensByModelTotals(series.tokensByModel), [series.tokensByModel]);
  const pts = series.points;
  const sum = (f: (p: (typeof pts)[number]) => number) => pts.reduce((a, p) => a + f(p), 0);
  const total = sum((p) => p.totalTokens);
  const requests = byModel.reduce((a, m) => a + m.requests, 0);
  const estimated = byModel.reduce((a, m) => a + m.estimatedRequests, 0);
  return (
    <div className="charts">
      <p className="stat">
        <span className="stat-value">{total.toLocaleString()}</span> tokens in this period ({sum((p) => p.promptTokens).toLocaleString()} prompt,{' '}
        {sum((p) => p.completionTokens).toLocaleString()} completion)
      </p>
      <p className="muted small" aria-label="Estimated requests">
        {estimated === 0
          ? 'Every request’s usage was reported by the provider.'
          : `${estimated.toLocaleString()} of ${requests.toLocaleString()} requests estimated: the provider did not report their usage.`}
      </p>
      {pts.length > 0 && (
        <LineChart
          title="Tokens"
          times={pts.map((p) => p.at)}
          series={[
            { label: 'Prompt tokens', values: pts.map((p) => p.promptTokens) },
            { label: 'Completion tokens', values: pts.map((p) => p.completionTokens) },
            { label: 'Total tokens', values: pts.map((p) => p.totalTokens) },
          ]}
        />
      )}
      <table className="table" aria-label="Tokens by model">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Requests</th>
            <th scope="col">Prompt tokens</th>
            <th scope="col">Completion tokens</th>
            <th scope="col">Total tokens</th>
            <th scope="col">Estimated requests</th>
            <th scope="col">Provider latency (avg)</th>
          </tr>
        </thead>
        <tbody>
          {byModel.map((m) => (
            <tr key={m.model}>
              <th scope="row" className="mono">
                {m.model || '(unknown)'}
              </th>
              <td>{m.requests.toLocaleString()}</td>
              <td>{m.promptTokens.toLocaleString()}</td>
              <td>{m.completionTokens.toLocaleString()}</td>
              <td>{m.totalTokens.toLocaleString()}</td>
              <td>{m.estimatedRequests.toLocaleString()}</td>
              <td>{Math.round(m.providerLatencyAvgMs).toLocaleString()} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
