import { describe, expect, it } from 'vitest';
import { formatTick, linePath, linearScale, niceDomain, niceStep } from './scale';

describe('chart scaling', () => {
  it('picks 1-2-5 steps', () => {
    expect(niceStep(100, 4)).toBe(50);
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(7, 4)).toBe(2);
    expect(niceStep(0.3, 3)).toBeCloseTo(0.1);
    expect(niceStep(0, 4)).toBe(1);
  });

  it('builds a domain from zero to a nice maximum covering the data', () => {
    const d = niceDomain([3, 17, 42]);
    expect(d.min).toBe(0);
    expect(d.max).toBeGreaterThanOrEqual(42);
    expect(d.ticks[0]).toBe(0);
    expect(d.ticks[d.ticks.length - 1]).toBe(d.max);
    expect(d.ticks).toEqual([0, 20, 40, 60]);
    // evenly spaced
    const steps = d.ticks.slice(1).map((t, i) => t - d.ticks[i]);
    expect(new Set(steps).size).toBe(1);
  });

  it('gives an empty or all-zero series the domain [0, 1]', () => {
    expect(niceDomain([]).max).toBe(1);
    expect(niceDomain([0, 0]).max).toBe(1);
    expect(niceDomain([0, 0]).min).toBe(0);
  });

  it('extends below zero for negative data', () => {
    const d = niceDomain([-5, 12]);
    expect(d.min).toBeLessThanOrEqual(-5);
    expect(d.max).toBeGreaterThanOrEqual(12);
  });

  it('ignores NaN and infinities', () => {
    expect(niceDomain([NaN, Infinity, 8]).max).toBe(8);
  });

  it('maps linearly, with SVG y pointing down', () => {
    const y = linearScale([0, 100], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(100)).toBe(0);
    expect(y(25)).toBe(150);
    const flat = linearScale([5, 5], [0, 10]);
    expect(flat(5)).toBe(5);
  });

  it('draws a path through the points', () => {
    expect(linePath([
      [0, 10],
      [5.04, 2.26],
    ])).toBe('M0 10 L5 2.3');
    expect(linePath([])).toBe('');
  });

  it('formats tick labels compactly', () => {
    expect(formatTick(950)).toBe('950');
    expect(formatTick(1500)).toBe('1.5k');
    expect(formatTick(2_000_000)).toBe('2M');
    expect(formatTick(0.5)).toBe('0.5');
  });
});
