// The throttling policy form's state, validation and conversion to ThrottlingPolicyInput.
import type { ConditionType, PolicyKind, PolicyLimitType, ThrottlingPolicyInput } from '../../gql/graphql';

export interface ConditionState {
  key: number;
  type: ConditionType;
  name: string;
  value: string;
  invert: boolean;
}

export interface GroupState {
  key: number;
  description: string;
  requestCount: string;
  unitTimeSeconds: string;
  conditions: ConditionState[];
}

export interface PolicyState {
  name: string;
  kind: PolicyKind;
  description: string;
  limitType: PolicyLimitType;
  requestCount: string;
  dataAmountBytes: string;
  costCount: string;
  totalTokenCount: string;
  promptTokenCount: string;
  completionTokenCount: string;
  unitTimeSeconds: string;
  burstLimitPerSecond: string;
  graphQLMaxDepth: string;
  graphQLMaxComplexity: string;
  stopOnQuotaReach: boolean;
  failClosed: boolean;
  keyTemplate: string;
  conditionGroups: GroupState[];
}

export const KEY_TEMPLATE_VARS = ['$apiContext', '$apiVersion', '$resourceKey', '$userId', '$appId', '$clientIp'];
export const CONDITION_TYPES: ConditionType[] = ['IP', 'IP_RANGE', 'HEADER', 'QUERY_PARAMETER', 'JWT_CLAIM'];

let seq = 1;
export const nextKey = () => seq++;

export function emptyCondition(): ConditionState {
  return { key: nextKey(), type: 'HEADER', name: '', value: '', invert: false };
}

export function emptyGroup(): GroupState {
  return { key: nextKey(), description: '', requestCount: '', unitTimeSeconds: '60', conditions: [emptyCondition()] };
}

export function emptyPolicy(kind: PolicyKind): PolicyState {
  return {
    name: '',
    kind,
    description: '',
    limitType: 'REQUEST_COUNT',
    requestCount: '',
    dataAmountBytes: '',
    costCount: '',
    totalTokenCount: '',
    promptTokenCount: '',
    completionTokenCount: '',
    unitTimeSeconds: '60',
    burstLimitPerSecond: '',
    graphQLMaxDepth: '',
    graphQLMaxComplexity: '',
    stopOnQuotaReach: true,
    failClosed: false,
    keyTemplate: kind === 'CUSTOM' ? '$userId:$apiContext:$apiVersion' : '',
    conditionGroups: [],
  };
}

interface PolicyLike {
  name: string;
  kind: PolicyKind;
  description?: string | null;
  limitType: PolicyLimitType;
  requestCount?: number | null;
  dataAmountBytes?: number | null;
  costCount?: number | null;
  totalTokenCount?: number | null;
  promptTokenCount?: number | null;
  completionTokenCount?: number | null;
  unitTimeSeconds: number;
  burstLimitPerSecond?: number | null;
  graphQLMaxDepth?: number | null;
  graphQLMaxComplexity?: number | null;
  stopOnQuotaReach: boolean;
  failClosed: boolean;
  keyTemplate?: string | null;
  conditionGroups: Array<{
    description?: string | null;
    requestCount: number;
    unitTimeSeconds: number;
    conditions: Array<{ type: ConditionType; name?: string | null; value: string; invert: boolean }>;
  }>;
}

export function policyToState(p: PolicyLike): PolicyState {
  const s = (n: number | null | undefined) => (n == null ? '' : String(n));
  return {
    name: p.name,
    kind: p.kind,
    description: p.description ?? '',
    limitType: p.limitType,
    requestCount: s(p.requestCount),
    dataAmountBytes: s(p.dataAmountBytes),
    costCount: s(p.costCount),
    totalTokenCount: s(p.totalTokenCount),
    promptTokenCount: s(p.promptTokenCount),
    completionTokenCount: s(p.completionTokenCount),
    unitTimeSeconds: String(p.unitTimeSeconds),
    burstLimitPerSecond: s(p.burstLimitPerSecond),
    graphQLMaxDepth: s(p.graphQLMaxDepth),
    graphQLMaxComplexity: s(p.graphQLMaxComplexity),
    stopOnQuotaReach: p.stopOnQuotaReach,
    failClosed: p.failClosed,
    keyTemplate: p.keyTemplate ?? '',
    conditionGroups: p.conditionGroups.map((g) => ({
      key: nextKey(),
      description: g.description ?? '',
      requestCount: String(g.requestCount),
      unitTimeSeconds: String(g.unitTimeSeconds),
      conditions: g.conditions.map((c) => ({ key: nextKey(), type: c.type, name: c.name ?? '', value: c.value, invert: c.invert })),
    })),
  };
}

/** Errors by field path: "name", "requestCount", "groups.0.requestCount", "groups.0.conditions.1.value". */
export type PolicyErrors = Record<string, string>;

const INT = /^\d+$/;
function positiveInt(v: string): boolean {
  return INT.test(v.trim()) && Number(v) >= 1;
}

export function isIPv4(v: string): boolean {
  const parts = v.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function isIP(v: string): boolean {
  if (isIPv4(v)) return true;
  // IPv6: hex groups with at most one ::
  if (!/^[0-9A-Fa-f:.]+$/.test(v) || !v.includes(':')) return false;
  if ((v.match(/::/g) ?? []).length > 1) return false;
  const groups = v.split(':').filter((g) => g !== '');
  return groups.length <= 8 && groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g) || isIPv4(g));
}

export function isCIDR(v: string): boolean {
  const [ip, bits, extra] = v.split('/');
  if (extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  return isIPv4(ip) ? n <= 32 : isIP(ip) && n <= 128;
}

export function validatePolicy(s: PolicyState): PolicyErrors {
  const e: PolicyErrors = {};
  const name = s.name.trim();
  if (!name) e.name = 'Name is required.';
  else if (!/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(name)) e.name = 'Name: up to 64 letters, digits, spaces, . _ or -.';
  if (!positiveInt(s.unitTimeSeconds)) e.unitTimeSeconds = 'Unit time must be a whole number of seconds, at least 1.';
  if (s.limitType === 'REQUEST_COUNT') {
    if (s.requestCount.trim() !== '' && !positiveInt(s.requestCount)) e.requestCount = 'Request count must be a whole number, at least 1 (empty for unlimited).';
  } else if (s.limitType === 'AI_TOKENS') {
    if (s.kind !== 'SUBSCRIPTION' && s.kind !== 'APPLICATION') e.limitType = 'AI token limits belong to subscription and application policies.';
    const counts = [
      ['totalTokenCount', 'Total token count'],
      ['promptTokenCount', 'Prompt token count'],
      ['completionTokenCount', 'Completion token count'],
    ] as const;
    for (const [k, label] of counts) {
      if (s[k].trim() !== '' && !positiveInt(s[k])) e[k] = `${label} must be a whole number of tokens, at least 1 (empty for no limit).`;
    }
    if (counts.every(([k]) => s[k].trim() === '')) e.totalTokenCount = 'Set at least one token count: total, prompt or completion.';
  } else if (s.limitType === 'GRAPHQL_COST') {
    if (!positiveInt(s.costCount)) e.costCount = 'Cost count must be a whole number of query-cost units, at least 1.';
  } else if (!positiveInt(s.dataAmountBytes)) {
    e.dataAmountBytes = 'Data amount must be a whole number of bytes, at least 1.';
  }
  if (s.kind === 'SUBSCRIPTION' && s.burstLimitPerSecond.trim() !== '' && !positiveInt(s.burstLimitPerSecond)) {
    e.burstLimitPerSecond = 'Burst limit must be a whole number, at least 1 (empty for none).';
  }
  if (s.kind === 'SUBSCRIPTION' && s.graphQLMaxDepth.trim() !== '' && !positiveInt(s.graphQLMaxDepth)) {
    e.graphQLMaxDepth = 'GraphQL maximum depth must be a whole number, at least 1 (empty for no limit).';
  }
  if (s.kind === 'SUBSCRIPTION' && s.graphQLMaxComplexity.trim() !== '' && !positiveInt(s.graphQLMaxComplexity)) {
    e.graphQLMaxComplexity = 'GraphQL maximum complexity must be a whole number, at least 1 (empty for no limit).';
  }
  if (s.kind === 'CUSTOM') {
    const t = s.keyTemplate.trim();
    const vars = t.match(/\$[A-Za-z]+/g) ?? [];
    const unknown = vars.filter((v) => !KEY_TEMPLATE_VARS.includes(v));
    if (!t) e.keyTemplate = 'Key template is required.';
    else if (vars.length === 0) e.keyTemplate = `Key template must use at least one of ${KEY_TEMPLATE_VARS.join(', ')}.`;
    else if (unknown.length) e.keyTemplate = `Unknown variable ${unknown[0]}; use ${KEY_TEMPLATE_VARS.join(', ')}.`;
  }
  if (s.kind === 'ADVANCED') {
    s.conditionGroups.forEach((g, gi) => {
      const p = `groups.${gi}`;
      if (!positiveInt(g.requestCount)) e[`${p}.requestCount`] = 'Request count must be a whole number, at least 1.';
      if (!positiveInt(g.unitTimeSeconds)) e[`${p}.unitTimeSeconds`] = 'Unit time must be at least 1 second.';
      if (g.conditions.length === 0) e[`${p}.conditions`] = 'A condition group needs at least one condition.';
      g.conditions.forEach((c, ci) => {
        const cp = `${p}.conditions.${ci}`;
        const v = c.value.trim();
        const needsName = c.type === 'HEADER' || c.type === 'QUERY_PARAMETER' || c.type === 'JWT_CLAIM';
        if (needsName && !c.name.trim()) e[`${cp}.name`] = 'Name is required for this condition.';
        if (!v) e[`${cp}.value`] = 'Value is required.';
        else if (c.type === 'IP' && !isIP(v)) e[`${cp}.value`] = 'Enter an IP address, such as 10.0.0.1.';
        else if (c.type === 'IP_RANGE' && !isCIDR(v)) e[`${cp}.value`] = 'Enter a CIDR range, such as 10.0.0.0/8.';
        else if (needsName) {
          try {
            new RegExp(v);
          } catch {
            e[`${cp}.value`] = 'The value is not a valid regular expression.';
          }
        }
      });
    });
  }
  return e;
}

const optInt = (v: string) => (v.trim() === '' ? null : Number(v));

export function stateToInput(s: PolicyState): ThrottlingPolicyInput {
  return {
    name: s.name.trim(),
    kind: s.kind,
    description: s.description.trim() || null,
    limitType: s.limitType,
    requestCount: s.limitType === 'REQUEST_COUNT' ? optInt(s.requestCount) : null,
    dataAmountBytes: s.limitType === 'BANDWIDTH' ? optInt(s.dataAmountBytes) : null,
    costCount: s.limitType === 'GRAPHQL_COST' ? optInt(s.costCount) : null,
    totalTokenCount: s.limitType === 'AI_TOKENS' ? optInt(s.totalTokenCount) : null,
    promptTokenCount: s.limitType === 'AI_TOKENS' ? optInt(s.promptTokenCount) : null,
    completionTokenCount: s.limitType === 'AI_TOKENS' ? optInt(s.completionTokenCount) : null,
    unitTimeSeconds: Number(s.unitTimeSeconds),
    burstLimitPerSecond: s.kind === 'SUBSCRIPTION' ? optInt(s.burstLimitPerSecond) : null,
    graphQLMaxDepth: s.kind === 'SUBSCRIPTION' ? optInt(s.graphQLMaxDepth) : null,
    graphQLMaxComplexity: s.kind === 'SUBSCRIPTION' ? optInt(s.graphQLMaxComplexity) : null,
    stopOnQuotaReach: s.kind === 'SUBSCRIPTION' ? s.stopOnQuotaReach : true,
    failClosed: s.failClosed,
    conditionGroups:
      s.kind === 'ADVANCED'
        ? s.conditionGroups.map((g) => ({
            description: g.description.trim() || null,
            requestCount: Number(g.requestCount),
            unitTimeSeconds: Number(g.unitTimeSeconds),
            conditions: g.conditions.map((c) => ({
              type: c.type,
              name: c.type === 'IP' || c.type === 'IP_RANGE' ? null : c.name.trim(),
              value: c.value.trim(),
              invert: c.invert,
            })),
          }))
        : [],
    keyTemplate: s.kind === 'CUSTOM' ? s.keyTemplate.trim() : null,
  };
}

export function describeLimit(p: {
  limitType: PolicyLimitType;
  requestCount?: number | null;
  dataAmountBytes?: number | null;
  costCount?: number | null;
  totalTokenCount?: number | null;
  promptTokenCount?: number | null;
  completionTokenCount?: number | null;
  unitTimeSeconds: number;
}): string {
  const per = p.unitTimeSeconds === 1 ? 'second' : p.unitTimeSeconds === 60 ? 'minute' : p.unitTimeSeconds === 3600 ? 'hour' : p.unitTimeSeconds === 86400 ? 'day' : `${p.unitTimeSeconds} s`;
  if (p.limitType === 'GRAPHQL_COST') return `${(p.costCount ?? 0).toLocaleString()} query-cost units per ${per}`;
  if (p.limitType === 'AI_TOKENS') {
    const parts = [
      p.totalTokenCount != null ? `${p.totalTokenCount.toLocaleString()} tokens` : '',
      p.promptTokenCount != null ? `${p.promptTokenCount.toLocaleString()} prompt tokens` : '',
      p.completionTokenCount != null ? `${p.completionTokenCount.toLocaleString()} completion tokens` : '',
    ].filter(Boolean);
    return parts.length ? `${parts.join(', ')} per ${per}` : 'Unlimited tokens';
  }
  if (p.limitType === 'BANDWIDTH') return `${(p.dataAmountBytes ?? 0).toLocaleString()} bytes per ${per}`;
  if (p.requestCount == null) return 'Unlimited';
  return `${p.requestCount.toLocaleString()} requests per ${per}`;
}
