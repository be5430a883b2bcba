import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { TokenUsageView } from './TokenUsage';

const at = (m: number) => `2026-12-03T10:0${m}:00Z`;
const row = (m: number, model: string, requests: number, prompt: number, completion: number, estimated: number) => ({
  at: at(m),
  model,
  requests,
  promptTokens: prompt,
  completionTokens: completion,
  totalTokens: prompt + completion,
  estimatedRequests: estimated,
  providerLatencyAvgMs: 100,
});

describe('TokenUsageView', () => {
  it('totals tokens over time, per model, and tells how many requests were estimated', () => {
    render(
      <TokenUsageView
        series={{
          points: [
            { at: at(0), promptTokens: 30, completionTokens: 10, totalTokens: 40 },
            { at: at(1), promptTokens: 5, completionTokens: 5, totalTokens: 10 },
          ],
          tokensByModel: [row(0, 'gpt-4o', 2, 20, 5, 0), row(0, 'gpt-4o-mini', 1, 10, 5, 1), row(1, 'gpt-4o', 1, 5, 5, 0)],
        }}
      />,
    );
    expect(screen.getByText(/tokens in this period/).textContent).toContain('35 prompt');
    expect(screen.getByLabelText('Estimated requests').textContent).toBe('1 of 4 requests estimated: the provider did not report their usage.');
    const table = screen.getByRole('table', { name: 'Tokens by model' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.querySelector('th')?.textContent)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(within(rows[0]).getAllByRole('cell').map((c) => c.textContent)).toEqual(['3', '25', '10', '35', '0', '100 ms']);
  });
});
