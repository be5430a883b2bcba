import { describe, expect, it } from 'vitest';
import { deploymentStatus, laggingGateways, lastEditAt, workingCopyDrift } from './deployments';

describe('deploymentStatus', () => {
  const cases = [
    { desc: 'every expected gateway acknowledged', d: { expectedGateways: 2, acknowledgedGateways: 2, acknowledgedInMs: 38 }, text: 'enforced by 2 of 2 gateways in 38 ms', tone: 'enforced' },
    { desc: 'a single gateway', d: { expectedGateways: 1, acknowledgedGateways: 1, acknowledgedInMs: 0 }, text: 'enforced by 1 of 1 gateway in 0 ms', tone: 'enforced' },
    { desc: 'one of two lags', d: { expectedGateways: 2, acknowledgedGateways: 1, acknowledgedInMs: null }, text: '1 of 2 gateways enforce it', tone: 'lagging' },
    { desc: 'the only gateway lags', d: { expectedGateways: 1, acknowledgedGateways: 0, acknowledgedInMs: null }, text: '0 of 1 gateway enforces it', tone: 'lagging' },
    { desc: 'no healthy gateway', d: { expectedGateways: 0, acknowledgedGateways: 0, acknowledgedInMs: null }, text: 'no healthy gateway of this environment serves it', tone: 'none' },
    { desc: 'all acknowledged but no time yet', d: { expectedGateways: 3, acknowledgedGateways: 3 }, text: 'enforced by 3 of 3 gateways', tone: 'enforced' },
  ];
  it.each(cases)('$desc', ({ d, text, tone }) => {
    expect(deploymentStatus(d)).toEqual({ text, tone });
  });
});

describe('lastEditAt', () => {
  it('is updatedAt after an edit', () => {
    expect(lastEditAt('2026-12-03T10:05:00Z', ['2026-12-03T10:00:00Z'])).toBe(Date.parse('2026-12-03T10:05:00Z'));
  });
  it('is unknown when the last change was a lifecycle change (same instant, other precision)', () => {
    expect(lastEditAt('2026-12-03T10:05:00.123456Z', ['2026-12-03T09:00:00Z', '2026-12-03T10:05:00.123Z'])).toBeNull();
  });
  it('is updatedAt for an API without lifecycle history', () => {
    expect(lastEditAt('2026-12-03T10:05:00Z', [])).toBe(Date.parse('2026-12-03T10:05:00Z'));
  });
});

describe('workingCopyDrift', () => {
  const r1 = { id: 'r1', number: 1, createdAt: '2026-12-03T10:00:00Z' };
  const r2 = { id: 'r2', number: 2, createdAt: '2026-12-03T11:00:00Z' };
  const at = (iso: string) => Date.parse(iso);

  it('an edit after every revision is unsaved and ahead of the deployed ones', () => {
    expect(workingCopyDrift(at('2026-12-03T12:00:00Z'), [r2, r1], new Set(['r1', 'r2']))).toEqual({ unsaved: true, behind: [r2, r1] });
  });
  it('an edit kept in revision 2 while revision 1 is deployed: saved, but the deployed one is behind', () => {
    expect(workingCopyDrift(at('2026-12-03T10:30:00Z'), [r1, r2], new Set(['r1']))).toEqual({ unsaved: false, behind: [r1] });
  });
  it('nothing differs when the deployed revision was taken after the last edit', () => {
    expect(workingCopyDrift(at('2026-12-03T10:30:00Z'), [r1, r2], new Set(['r2']))).toEqual({ unsaved: false, behind: [] });
  });
  it('a revision taken at the instant of the edit holds it', () => {
    expect(workingCopyDrift(at(r2.createdAt), [r1, r2], new Set(['r2']))).toEqual({ unsaved: false, behind: [] });
  });
  it('says nothing when the last edit time is unknown, or there is no revision', () => {
    expect(workingCopyDrift(null, [r1], new Set(['r1']))).toEqual({ unsaved: false, behind: [] });
    expect(workingCopyDrift(at('2026-12-03T12:00:00Z'), [], new Set())).toEqual({ unsaved: false, behind: [] });
  });
});

describe('laggingGateways', () => {
  it('names the healthy gateways that do not enforce the revision, and the stale ones', () => {
    const gateways = [
      { id: 'gw-a', healthy: true, acknowledged: true },
      { id: 'gw-b', healthy: true, acknowledged: false },
      { id: 'gw-c', healthy: false, acknowledged: true },
      { id: 'gw-d', healthy: false, acknowledged: false },
    ];
    expect(laggingGateways({ expectedGateways: 2, acknowledgedGateways: 1, gateways })).toEqual({ lagging: ['gw-b'], stale: ['gw-c', 'gw-d'] });
  });
  it('names none when the gateways are not listed', () => {
    expect(laggingGateways({ expectedGateways: 2, acknowledgedGateways: 1 })).toEqual({ lagging: [], stale: [] });
  });
});
