import { describe, expect, it } from 'vitest';
import { apiKeyStatus, parseValidityDays } from './apiKeyStatus';

describe('apiKeyStatus', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  it.each([
    { desc: 'unrevoked, unexpired', k: { expiresAt: '2026-07-01T00:00:00Z' }, want: 'Active' },
    { desc: 'revoked', k: { expiresAt: '2026-07-01T00:00:00Z', revokedAt: '2026-05-01T00:00:00Z' }, want: 'Revoked' },
    { desc: 'expired', k: { expiresAt: '2026-05-01T00:00:00Z', revokedAt: null }, want: 'Expired' },
    { desc: 'expiring this instant', k: { expiresAt: '2026-06-01T00:00:00Z' }, want: 'Expired' },
    { desc: 'revoked and expired', k: { expiresAt: '2026-05-01T00:00:00Z', revokedAt: '2026-04-01T00:00:00Z' }, want: 'Revoked' },
  ])('$desc', ({ k, want }) => {
    expect(apiKeyStatus(k, now)).toBe(want);
  });
});

describe('parseValidityDays', () => {
  it.each([
    { desc: 'empty is the default', v: '  ', want: {} },
    { desc: 'a number of days', v: '30', want: { days: 30 } },
    { desc: 'the maximum', v: '1095', want: { days: 1095 } },
    { desc: 'zero', v: '0', want: { error: 'Between 1 and 1095 days.' } },
    { desc: 'too many', v: '1096', want: { error: 'Between 1 and 1095 days.' } },
    { desc: 'not a whole number', v: '1.5', want: { error: 'Enter a whole number of days.' } },
    { desc: 'negative', v: '-3', want: { error: 'Enter a whole number of days.' } },
  ])('$desc', ({ v, want }) => {
    expect(parseValidityDays(v)).toEqual(want);
  });
});
