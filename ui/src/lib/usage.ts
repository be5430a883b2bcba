// Merging live usage points (apiUsageLive) into a usage series fetched on demand.

export interface PointLike {
  /** The start of the bucket (ISO 8601). */
  at: string;
  requests: number;
}

export interface SeriesLike<P extends PointLike> {
  totalRequests: number;
  points: readonly P[];
}

const time = (iso: string) => Date.parse(iso);

/**
 * Puts a point into a series ordered by time: it replaces the point of the same bucket (a
 * live point is the bucket's running total, so the newer value wins), is appended when
 * newer than every point, and otherwise goes in its place (series skip idle buckets).
 * Buckets are compared as instants, so "…:00Z" and "…:00.000Z" are the same bucket.
 */
export function mergeUsagePoint<P extends PointLike>(points: readonly P[], point: P): P[] {
  const t = time(point.at);
  if (Number.isNaN(t)) return [...points];
  const out = [...points];
  for (let i = out.length - 1; i >= 0; i--) {
    const ti = time(out[i].at);
    if (ti === t) {
      out[i] = point;
      return out;
    }
    if (ti < t) {
      out.splice(i + 1, 0, point);
      return out;
    }
  }
  out.unshift(point);
  return out;
}

/**
 * The series with the live points merged in, keeping a window of `spanMs` before the newest
 * bucket (the "last hour" stays an hour as minutes arrive). The total moves by what the
 * merge changed, so it stays the server's figure plus the live traffic.
 */
export function withLivePoints<S extends SeriesLike<PointLike>>(series: S, live: readonly S['points'][number][], spanMs: number): S {
  type P = S['points'][number];
  if (live.length === 0) return series;
  let points = [...series.points];
  for (const p of live) points = mergeUsagePoint(points, p);
  const newest = points.length ? time(points[points.length - 1].at) : NaN;
  if (!Number.isNaN(newest) && spanMs > 0) points = points.filter((p) => time(p.at) >= newest - spanMs);
  const sum = (ps: readonly P[]) => ps.reduce((n, p) => n + p.requests, 0);
  return { ...series, points, totalRequests: series.totalRequests + sum(points) - sum(series.points) };
}
