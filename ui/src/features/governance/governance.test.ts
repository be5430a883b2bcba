import { describe, expect, it } from 'vitest';
import {
  canChangeTier,
  clashingResources,
  groupNameError,
  orderTasks,
  parseUsernames,
  subscriptionNote,
  toggleResource,
  webhookUrlError,
} from './governance';
import { accessError } from './components/AccessTab';
import { productFieldKey } from './pages/ProductCreate';
import { applicationNote } from '../applications/pages/ApplicationDetail';

describe('orderTasks', () => {
  it('puts pending first, oldest first, then decided, most recently decided first, without duplicates', () => {
    const tasks = [
      { id: 'd1', status: 'APPROVED' as const, createdAt: '2026-12-01T10:00:00Z', decidedAt: '2026-12-01T11:00:00Z' },
      { id: 'p2', status: 'PENDING' as const, createdAt: '2026-12-02T10:00:00Z' },
      { id: 'd2', status: 'REJECTED' as const, createdAt: '2026-12-01T09:00:00Z', decidedAt: '2026-12-02T12:00:00Z' },
      { id: 'p1', status: 'PENDING' as const, createdAt: '2026-12-01T08:00:00Z' },
      { id: 'p1', status: 'PENDING' as const, createdAt: '2026-12-01T08:00:00Z' },
    ];
    expect(orderTasks(tasks).map((t) => t.id)).toEqual(['p1', 'p2', 'd2', 'd1']);
  });
});

describe('parseUsernames', () => {
  it.each([
    ['', []],
    ['alice', ['alice']],
    ['alice, bob\ncarol  alice', ['alice', 'bob', 'carol']],
  ])('%j', (text, want) => {
    expect(parseUsernames(text)).toEqual(want);
  });
});

describe('groupNameError', () => {
  it.each([
    ['', 'Group name is required.'],
    ['  ', 'Group name is required.'],
    ['team a', 'Use letters, digits, dot, dash or underscore.'],
    ['x'.repeat(65), 'Use at most 64 characters.'],
    ['partners.eu-1_x', null],
  ])('%j', (v, want) => expect(groupNameError(v)).toBe(want));
});

describe('webhookUrlError', () => {
  it.each([
    ['', null],
    ['https://hooks.example.com/t', null],
    ['ftp://hooks.example.com', 'Use an http:// or https:// URL.'],
    ['hooks', 'Enter a URL, such as https://hooks.example.com/turnpike.'],
  ])('%j', (v, want) => expect(webhookUrlError(v)).toBe(want));
});

describe('subscriptionNote and canChangeTier', () => {
  it('explains ON_HOLD, a rejection with its reason, and a pending tier change', () => {
    expect(subscriptionNote({ status: 'ACTIVE', tier: 'Gold' })).toBeNull();
    expect(subscriptionNote({ status: 'ON_HOLD', tier: 'Gold' })).toMatch(/Waiting for approval/);
    expect(subscriptionNote({ status: 'REJECTED', tier: 'Gold', statusReason: 'not a partner' })).toBe(
      'The subscription request was rejected. Reason: not a partner',
    );
    expect(subscriptionNote({ status: 'ACTIVE', tier: 'Bronze', pendingTier: 'Gold' })).toBe(
      'Change to Gold awaits approval; Bronze stays in force meanwhile.',
    );
  });
  it('offers a tier change only on active subscriptions without one pending', () => {
    expect(canChangeTier({ status: 'ACTIVE' })).toBe(true);
    expect(canChangeTier({ status: 'ACTIVE', pendingTier: 'Gold' })).toBe(false);
    expect(canChangeTier({ status: 'ON_HOLD' })).toBe(false);
    expect(canChangeTier({ status: 'REJECTED' })).toBe(false);
    expect(canChangeTier({ status: 'BLOCKED' })).toBe(false);
  });
});

describe('applicationNote', () => {
  it('says keys wait for approval, and gives the rejection reason', () => {
    expect(applicationNote({ status: 'APPROVED' })).toBeNull();
    expect(applicationNote({ status: 'PENDING' })).toMatch(/keys can be generated once/);
    expect(applicationNote({ status: 'REJECTED', statusReason: 'duplicate' })).toBe('The application was rejected: duplicate It cannot get keys.');
  });
});

describe('product resources', () => {
  const a = { apiId: 'a', method: 'GET', path: '/pets' };
  const b = { apiId: 'b', method: 'GET', path: '/pets' };
  const c = { apiId: 'b', method: 'POST', path: '/orders' };
  it('toggles an operation on and off, once', () => {
    const on = toggleResource(toggleResource([], a, true), a, true);
    expect(on).toEqual([a]);
    expect(toggleResource([a, c], a, false)).toEqual([c]);
  });
  it('finds the same method and path picked from two APIs', () => {
    expect(clashingResources([a, c])).toEqual([]);
    expect(clashingResources([a, b, c])).toEqual(['GET /pets']);
  });
  it('maps server input fields to the form', () => {
    expect(productFieldKey('input.resources[1].path')).toBe('resources');
    expect(productFieldKey('input.subscriptionTiers')).toBe('tiers');
    expect(productFieldKey('input.context')).toBe('context');
    expect(productFieldKey('other')).toBeUndefined();
  });
});

describe('accessError', () => {
  it('requires a group for RESTRICTED', () => {
    expect(accessError('PUBLIC', [])).toBeNull();
    expect(accessError('RESTRICTED', [])).toBe('Choose at least one group that may see the API.');
    expect(accessError('RESTRICTED', ['partners'])).toBeNull();
  });
});
