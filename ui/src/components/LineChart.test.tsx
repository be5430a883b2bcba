import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { LineChart } from './LineChart';

const times = ['2024-05-01T10:00:00Z', '2024-05-01T10:01:00Z', '2024-05-01T10:02:00Z'];

describe('LineChart', () => {
  it('draws one path per series, on a zero-based nice axis', () => {
    const { container } = render(
      <LineChart
        title="Requests"
        times={times}
        series={[
          { label: 'Requests', values: [10, 40, 25] },
          { label: 'Errors', values: [0, 3, 1] },
        ]}
      />,
    );
    expect(screen.getByRole('img', { name: 'Requests' })).toBeTruthy();
    const paths = container.querySelectorAll('path.chart-line');
    expect(paths).toHaveLength(2);
    const ticks = [...container.querySelectorAll('.chart-grid text')].map((t) => t.textContent);
    expect(ticks[0]).toBe('0');
    expect(ticks[ticks.length - 1]).toBe('40');
    // the highest point of the first series touches the top margin, zero is at the bottom
    const d = paths[0].getAttribute('d') ?? '';
    const ys = [...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(Math.min(...ys)).toBe(12);
    expect(Math.max(...ys)).toBeGreaterThan(Math.min(...ys));
  });

  it('lists the data in a table for screen readers', () => {
    render(<LineChart title="Latency" unit="ms" times={times} series={[{ label: 'Average', values: [1.5, 2, 3] }]} />);
    expect(screen.getByRole('table')).toBeTruthy();
    expect(screen.getAllByRole('row')).toHaveLength(4);
    expect(screen.getByText('Latency (ms)')).toBeTruthy();
  });

  it('draws a dot for a single point', () => {
    const { container } = render(<LineChart title="One" times={[times[0]]} series={[{ label: 'A', values: [5] }]} />);
    expect(container.querySelectorAll('circle')).toHaveLength(1);
  });
});
