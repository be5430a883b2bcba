import { describe, expect, it } from 'vitest';
import { canChangeLifecycle, canUseAdmin, canUsePublisher, portalsFor, safeNext } from './roles';

const user = (...roles: Array<'ADMIN' | 'PUBLISHER' | 'CREATOR' | 'SUBSCRIBER'>) => ({ id: '1', username: 'u', roles });

describe('role-aware navigation', () => {
  const cases = [
    { desc: 'anonymous', u: null, portals: ['Developer Portal'] },
    { desc: 'subscriber', u: user('SUBSCRIBER'), portals: ['Developer Portal'] },
    { desc: 'creator', u: user('CREATOR'), portals: ['Developer Portal', 'Publisher'] },
    { desc: 'publisher', u: user('PUBLISHER'), portals: ['Developer Portal', 'Publisher'] },
    { desc: 'admin', u: user('ADMIN'), portals: ['Developer Portal', 'Publisher', 'Admin'] },
  ];
  for (const c of cases) {
    it(`offers the right portals to ${c.desc}`, () => {
      expect(portalsFor(c.u).map((p) => p.label)).toEqual(c.portals);
    });
  }

  it('keeps lifecycle changes to publishers and admins', () => {
    expect(canChangeLifecycle(user('CREATOR'))).toBe(false);
    expect(canChangeLifecycle(user('PUBLISHER'))).toBe(true);
    expect(canUsePublisher(user('SUBSCRIBER'))).toBe(false);
    expect(canUseAdmin(user('PUBLISHER'))).toBe(false);
  });

  it('follows only same-app paths after sign-in', () => {
    expect(safeNext('/publisher/apis/1')).toBe('/publisher/apis/1');
    expect(safeNext('https://evil.example')).toBe('/devportal');
    expect(safeNext('//evil.example')).toBe('/devportal');
    expect(safeNext('/\\evil.example')).toBe('/devportal');
    expect(safeNext(null)).toBe('/devportal');
  });
});
