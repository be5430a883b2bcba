import { describe, expect, it } from 'vitest';
import { mergeUsagePoint, withLivePoints } from './usage';

const p = (at: string, requests: number) => ({ at, requests });

describe('mergeUsagePoint', () => {
  it('replaces the point of the same minute, even when the timestamps are spelled differently', () => {
    const points = [p('2024-05-01T10:00:00Z', 4), p('2024-05-01T10:01:00Z', 6)];
    expect(mergeUsagePoint(points, p('2024-05-01T10:01:00.000Z', 9))).toEqual([p('2024-05-01T10:00:00Z', 4), p('2024-05-01T10:01:00.000Z', 9)]);
    // The input is not changed.
    expect(points[1].requests).toBe(6);
  });

  it('appends a newer point and slots an older one into its place', () => {
    const points = [p('2024-05-01T10:00:00Z', 4), p('2024-05-01T10:05:00Z', 6)];
    expect(mergeUsagePoint(points, p('2024-05-01T10:06:00Z', 1)).map((x) => x.at)).toEqual([
      '2024-05-01T10:00:00Z',
      '2024-05-01T10:05:00Z',
      '2024-05-01T10:06:00Z',
    ]);
    expect(mergeUsagePoint(points, p('2024-05-01T10:03:00Z', 1)).map((x) => x.at)).toEqual([
      '2024-05-01T10:00:00Z',
      '2024-05-01T10:03:00Z',
      '2024-05-01T10:05:00Z',
    ]);
    expect(mergeUsagePoint(points, p('2024-05-01T09:59:00Z', 1))[0].at).toBe('2024-05-01T09:59:00Z');
    expect(mergeUsagePoint([], p('2024-05-01T09:59:00Z', 1))).toHaveLength(1);
  });

  it('ignores a point without a valid time', () => {
    expect(mergeUsagePoint([p('2024-05-01T10:00:00Z', 4)], p('soon', 1))).toEqual([p('2024-05-01T10:00:00Z', 4)]);
  });
});

describe('withLivePoints', () => {
  const series = { granularity: 'MINUTE', totalRequests: 10, points: [p('2024-05-01T10:00:00Z', 4), p('2024-05-01T10:01:00Z', 6)] };

  it('returns the series itself when nothing arrived', () => {
    expect(withLivePoints(series, [], 3600_000)).toBe(series);
  });

  it('merges the points and moves the total by the difference', () => {
    const out = withLivePoints(series, [p('2024-05-01T10:01:00Z', 9), p('2024-05-01T10:02:00Z', 2)], 3600_000);
    expect(out.points.map((x) => x.requests)).toEqual([4, 9, 2]);
    expect(out.totalRequests).toBe(15);
    expect(out.granularity).toBe('MINUTE');
  });

  it('keeps the window: minutes older than the span before the newest drop out', () => {
    const out = withLivePoints(series, [p('2024-05-01T11:00:30Z', 1)], 3600_000);
    expect(out.points.map((x) => x.at)).toEqual(['2024-05-01T10:01:00Z', '2024-05-01T11:00:30Z']);
    expect(out.totalRequests).toBe(7);
  });
});
