import type { WorkflowStatus, WorkflowType } from '../../gql/graphql';

export const WORKFLOW_TYPES: WorkflowType[] = [
  'USER_SIGNUP',
  'APPLICATION_CREATION',
  'SUBSCRIPTION_CREATION',
  'SUBSCRIPTION_UPDATE',
  'API_STATE_CHANGE',
];

export const WORKFLOW_LABELS: Record<WorkflowType, string> = {
  USER_SIGNUP: 'User sign-up',
  APPLICATION_CREATION: 'Application creation',
  SUBSCRIPTION_CREATION: 'Subscription creation',
  SUBSCRIPTION_UPDATE: 'Subscription tier change',
  API_STATE_CHANGE: 'API lifecycle change',
};

export const WORKFLOW_HELP: Record<WorkflowType, string> = {
  USER_SIGNUP: 'New users cannot sign in until approved.',
  APPLICATION_CREATION: 'New applications stay PENDING and cannot get keys until approved.',
  SUBSCRIPTION_CREATION: 'New subscriptions stay ON_HOLD and the gateways refuse them until approved.',
  SUBSCRIPTION_UPDATE: 'A tier change waits for approval; the old tier stays in force meanwhile.',
  API_STATE_CHANGE: 'A lifecycle change is recorded as pending; the API keeps its state until approved.',
};

export interface TaskLike {
  id: string;
  status: WorkflowStatus;
  createdAt: string;
  decidedAt?: string | null;
}

/**
 * The Tasks page order: pending first (oldest first, the queue), then the decided ones
 * (most recently decided first). Duplicates by id keep the first seen.
 */
export function orderTasks<T extends TaskLike>(tasks: T[]): T[] {
  const seen = new Set<string>();
  const unique = tasks.filter((t) => (seen.has(t.id) ? false : (seen.add(t.id), true)));
  const pending = unique.filter((t) => t.status === 'PENDING').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const decided = unique
    .filter((t) => t.status !== 'PENDING')
    .sort((a, b) => (b.decidedAt ?? b.createdAt).localeCompare(a.decidedAt ?? a.createdAt));
  return [...pending, ...decided];
}

/** Usernames typed into the members editor: split on commas, spaces or lines, deduplicated. */
export function parseUsernames(text: string): string[] {
  const out: string[] = [];
  for (const u of text.split(/[\s,]+/)) {
    const v = u.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** A group name: letters, digits, dot, dash, underscore; 1–64 characters. */
export function groupNameError(name: string): string | null {
  const v = name.trim();
  if (!v) return 'Group name is required.';
  if (v.length > 64) return 'Use at most 64 characters.';
  if (!/^[A-Za-z0-9._-]+$/.test(v)) return 'Use letters, digits, dot, dash or underscore.';
  return null;
}

/** A webhook URL: empty (off) or http(s). */
export function webhookUrlError(url: string): string | null {
  const v = url.trim();
  if (!v) return null;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'Use an http:// or https:// URL.';
  } catch {
    return 'Enter a URL, such as https://hooks.example.com/turnpike.';
  }
  return null;
}

/** What a subscription's state means to its owner, with the reason when there is one. */
export function subscriptionNote(s: { status: string; pendingTier?: string | null; statusReason?: string | null; tier: string }): string | null {
  const parts: string[] = [];
  if (s.status === 'ON_HOLD') parts.push('Waiting for approval: the gateways refuse calls until an administrator approves.');
  if (s.status === 'REJECTED') parts.push('The subscription request was rejected.');
  if (s.status === 'BLOCKED') parts.push('The API publisher blocked this subscription: calls are rejected.');
  if (s.status === 'PROD_ONLY_BLOCKED') parts.push('Production calls are blocked; sandbox keys still work.');
  if (s.pendingTier) parts.push(`Change to ${s.pendingTier} awaits approval; ${s.tier} stays in force meanwhile.`);
  if (s.statusReason) parts.push(`Reason: ${s.statusReason}`);
  return parts.length ? parts.join(' ') : null;
}

/** Whether the tier control offers a change: active (or tier-rejected) subscriptions with no change pending. */
export function canChangeTier(s: { status: string; pendingTier?: string | null }): boolean {
  return !s.pendingTier && (s.status === 'ACTIVE' || s.status === 'PROD_ONLY_BLOCKED');
}

export interface ProductResourcePick {
  apiId: string;
  method: string;
  path: string;
}

export const resourceKey = (r: ProductResourcePick) => `${r.apiId} ${r.method} ${r.path}`;

/** Adds or removes one operation from a product's resources, keeping the order picked. */
export function toggleResource(list: ProductResourcePick[], r: ProductResourcePick, on: boolean): ProductResourcePick[] {
  const key = resourceKey(r);
  const without = list.filter((x) => resourceKey(x) !== key);
  return on ? [...without, { apiId: r.apiId, method: r.method, path: r.path }] : without;
}

/** Two operations of different APIs that would answer the same method and path under the product's context. */
export function clashingResources(list: ProductResourcePick[]): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const r of list) {
    const k = `${r.method.toUpperCase()} ${r.path}`;
    const prev = seen.get(k);
    if (prev !== undefined && prev !== r.apiId && !out.includes(k)) out.push(k);
    else if (prev === undefined) seen.set(k, r.apiId);
  }
  return out;
}
