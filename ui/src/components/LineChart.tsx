import { useId } from 'react';
import { formatTick, linePath, linearScale, niceDomain } from '../lib/scale';

export interface Series {
  label: string;
  values: number[];
}

const W = 640;
const H = 220;
const M = { top: 12, right: 16, bottom: 28, left: 48 };

function timeLabel(iso: string, spanMs: number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (spanMs > 2 * 86400_000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * A small SVG line chart for time series (no chart library): a y axis on nice ticks from
 * zero, up to three x labels, a legend and, for screen readers and keyboard users, the
 * data as a table.
 */
export function LineChart({
  title,
  times,
  series,
  unit,
}: {
  title: string;
  times: string[];
  series: Series[];
  unit?: string;
}) {
  const titleId = useId();
  const all = series.flatMap((s) => s.values);
  const { min, max, ticks } = niceDomain(all);
  const n = times.length;
  const x = linearScale([0, Math.max(1, n - 1)], [M.left, W - M.right]);
  const y = linearScale([min, max], [H - M.bottom, M.top]);
  const t0 = n ? new Date(times[0]).getTime() : 0;
  const t1 = n ? new Date(times[n - 1]).getTime() : 0;
  const span = t1 - t0;
  const xLabels = n === 0 ? [] : n === 1 ? [0] : n === 2 ? [0, 1] : [0, Math.floor((n - 1) / 2), n - 1];

  return (
    <figure className="chart">
      <figcaption id={titleId} className="chart-title">
        {title}
        {unit ? ` (${unit})` : ''}
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        className="chart-svg"
        role="img"
        aria-labelledby={titleId}
        preserveAspectRatio="xMidYMid meet"
      >
        {ticks.map((t) => (
          <g key={t} className="chart-grid">
            <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
            <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end" className="chart-tick">
              {formatTick(t)}
            </text>
          </g>
        ))}
        {xLabels.map((i) => (
          <text key={i} x={x(i)} y={H - 8} textAnchor={i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'} className="chart-tick">
            {timeLabel(times[i], span)}
          </text>
        ))}
        {series.map((s, si) =>
          n === 1 ? (
            <circle key={s.label} cx={x(0)} cy={y(s.values[0] ?? 0)} r={3} className={`chart-dot series-${si}`} />
          ) : (
            <path key={s.label} d={linePath(s.values.map((v, i) => [x(i), y(v)]))} className={`chart-line series-${si}`} />
          ),
        )}
      </svg>
      <ul className="chart-legend">
        {series.map((s, si) => (
          <li key={s.label}>
            <span className={`swatch series-${si}`} aria-hidden="true" />
            {s.label}
          </li>
        ))}
      </ul>
      <details className="chart-data">
        <summary>Data for {title}</summary>
        <table className="table table-compact">
          <thead>
            <tr>
              <th scope="col">Time</th>
              {series.map((s) => (
                <th key={s.label} scope="col">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {times.map((t, i) => (
              <tr key={t}>
                <td>{new Date(t).toLocaleString()}</td>
                {series.map((s) => (
                  <td key={s.label}>{s.values[i]}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
