import { describe, expect, it } from 'vitest';
import { describeLimit, emptyCondition, emptyGroup, emptyPolicy, isCIDR, isIP, policyToState, stateToInput, validatePolicy } from './policyForm';

describe('throttling policy form', () => {
  it('requires a name and a positive unit time', () => {
    const s = { ...emptyPolicy('SUBSCRIPTION'), unitTimeSeconds: '0' };
    const e = validatePolicy(s);
    expect(e.name).toBeDefined();
    expect(e.unitTimeSeconds).toBeDefined();
  });

  it('turns an empty request count into unlimited (null)', () => {
    const s = { ...emptyPolicy('SUBSCRIPTION'), name: 'Gold' };
    expect(validatePolicy(s)).toEqual({});
    expect(stateToInput(s)).toMatchObject({ name: 'Gold', kind: 'SUBSCRIPTION', requestCount: null, unitTimeSeconds: 60, burstLimitPerSecond: null });
  });

  it('sends burst and quota settings for subscription policies only', () => {
    const sub = { ...emptyPolicy('SUBSCRIPTION'), name: 'Silver', requestCount: '1000', burstLimitPerSecond: '10', stopOnQuotaReach: false };
    expect(stateToInput(sub)).toMatchObject({ requestCount: 1000, burstLimitPerSecond: 10, stopOnQuotaReach: false });
    const app = { ...emptyPolicy('APPLICATION'), name: 'App', requestCount: '5', burstLimitPerSecond: '10' };
    expect(stateToInput(app).burstLimitPerSecond).toBeNull();
  });

  it('requires a data amount for bandwidth limits', () => {
    const s = { ...emptyPolicy('APPLICATION'), name: 'Bytes', limitType: 'BANDWIDTH' as const };
    expect(validatePolicy(s).dataAmountBytes).toBeDefined();
    expect(stateToInput({ ...s, dataAmountBytes: '1048576' })).toMatchObject({ limitType: 'BANDWIDTH', dataAmountBytes: 1048576, requestCount: null });
  });

  it('needs at least one positive token count for AI token limits and sends only those', () => {
    const s = { ...emptyPolicy('SUBSCRIPTION'), name: 'Tokens', limitType: 'AI_TOKENS' as const, requestCount: '7' };
    expect(validatePolicy(s).totalTokenCount).toMatch(/at least one token count/);
    expect(validatePolicy({ ...s, promptTokenCount: '0' }).promptTokenCount).toMatch(/whole number of tokens/);
    const ok = { ...s, totalTokenCount: '10000', completionTokenCount: '2000' };
    expect(validatePolicy(ok)).toEqual({});
    expect(validatePolicy({ ...ok, kind: 'ADVANCED' }).limitType).toMatch(/subscription and application/);
    expect(stateToInput(ok)).toMatchObject({ limitType: 'AI_TOKENS', totalTokenCount: 10000, promptTokenCount: null, completionTokenCount: 2000, requestCount: null });
    expect(stateToInput({ ...ok, limitType: 'REQUEST_COUNT' })).toMatchObject({ totalTokenCount: null, completionTokenCount: null, requestCount: 7 });
    expect(describeLimit({ limitType: 'AI_TOKENS', totalTokenCount: 10000, completionTokenCount: 2000, unitTimeSeconds: 60 })).toBe(
      `${(10000).toLocaleString()} tokens, ${(2000).toLocaleString()} completion tokens per minute`,
    );
    expect(policyToState({ ...stateToInput(ok), limitType: 'AI_TOKENS', stopOnQuotaReach: true, failClosed: false, conditionGroups: [] })).toMatchObject({ totalTokenCount: '10000', promptTokenCount: '', completionTokenCount: '2000' });
  });

  it('validates advanced condition groups', () => {
    const group = { ...emptyGroup(), requestCount: '', conditions: [{ ...emptyCondition(), type: 'HEADER' as const, name: '', value: '(' }] };
    const ip = { ...emptyCondition(), type: 'IP' as const, value: '300.1.1.1' };
    const range = { ...emptyCondition(), type: 'IP_RANGE' as const, value: '10.0.0.0/8' };
    const s = { ...emptyPolicy('ADVANCED'), name: 'Adv', conditionGroups: [group, { ...emptyGroup(), requestCount: '5', conditions: [ip, range] }, { ...emptyGroup(), requestCount: '1', conditions: [] }] };
    const e = validatePolicy(s);
    expect(e['groups.0.requestCount']).toBeDefined();
    expect(e['groups.0.conditions.0.name']).toBeDefined();
    expect(e['groups.0.conditions.0.value']).toMatch(/regular expression/);
    expect(e['groups.1.conditions.0.value']).toMatch(/IP address/);
    expect(e['groups.1.conditions.1.value']).toBeUndefined();
    expect(e['groups.2.conditions']).toBeDefined();
  });

  it('converts condition groups, dropping names of IP conditions', () => {
    const s = {
      ...emptyPolicy('ADVANCED'),
      name: 'Adv',
      requestCount: '100',
      conditionGroups: [
        {
          ...emptyGroup(),
          description: 'internal',
          requestCount: '1000',
          unitTimeSeconds: '60',
          conditions: [
            { ...emptyCondition(), type: 'IP_RANGE' as const, name: 'ignored', value: '10.0.0.0/8' },
            { ...emptyCondition(), type: 'HEADER' as const, name: 'X-Tier', value: '^gold$', invert: true },
          ],
        },
      ],
    };
    expect(validatePolicy(s)).toEqual({});
    expect(stateToInput(s).conditionGroups).toEqual([
      {
        description: 'internal',
        requestCount: 1000,
        unitTimeSeconds: 60,
        conditions: [
          { type: 'IP_RANGE', name: null, value: '10.0.0.0/8', invert: false },
          { type: 'HEADER', name: 'X-Tier', value: '^gold$', invert: true },
        ],
      },
    ]);
  });

  it('checks custom key templates against the known variables', () => {
    const base = { ...emptyPolicy('CUSTOM'), name: 'PerUser', requestCount: '10' };
    expect(validatePolicy({ ...base, keyTemplate: '$userId:$apiContext' })).toEqual({});
    expect(validatePolicy({ ...base, keyTemplate: 'static' }).keyTemplate).toMatch(/at least one/);
    expect(validatePolicy({ ...base, keyTemplate: '$tenant:$userId' }).keyTemplate).toMatch(/\$tenant/);
    expect(stateToInput({ ...base, keyTemplate: ' $appId ' }).keyTemplate).toBe('$appId');
  });

  it('round-trips a policy from the server', () => {
    const p = {
      name: 'Gold',
      kind: 'SUBSCRIPTION' as const,
      description: null,
      limitType: 'REQUEST_COUNT' as const,
      requestCount: 5000,
      dataAmountBytes: null,
      unitTimeSeconds: 60,
      burstLimitPerSecond: null,
      stopOnQuotaReach: true,
      failClosed: false,
      keyTemplate: null,
      conditionGroups: [],
    };
    expect(stateToInput(policyToState(p))).toMatchObject({ name: 'Gold', requestCount: 5000, unitTimeSeconds: 60, burstLimitPerSecond: null });
  });

  it('recognises IP addresses and CIDR ranges', () => {
    expect(isIP('192.168.1.1')).toBe(true);
    expect(isIP('::1')).toBe(true);
    expect(isIP('2001:db8::1')).toBe(true);
    expect(isIP('1.2.3')).toBe(false);
    expect(isCIDR('10.0.0.0/8')).toBe(true);
    expect(isCIDR('10.0.0.0/33')).toBe(false);
    expect(isCIDR('2001:db8::/32')).toBe(true);
    expect(isCIDR('10.0.0.0')).toBe(false);
  });
});

describe('query-cost tiers', () => {
  it('requires a cost count for GRAPHQL_COST limits and sends it alone', () => {
    const s = { ...emptyPolicy('SUBSCRIPTION'), name: 'GqlGold', limitType: 'GRAPHQL_COST' as const, requestCount: '9' };
    expect(validatePolicy(s).costCount).toMatch(/Cost count/);
    expect(stateToInput({ ...s, costCount: '1000' })).toMatchObject({ limitType: 'GRAPHQL_COST', costCount: 1000, requestCount: null, dataAmountBytes: null });
  });

  it('sends the GraphQL depth and complexity bounds of subscription tiers only', () => {
    const sub = { ...emptyPolicy('SUBSCRIPTION'), name: 'Gold', graphQLMaxDepth: '0', graphQLMaxComplexity: 'x' };
    const e = validatePolicy(sub);
    expect(e.graphQLMaxDepth).toMatch(/depth/);
    expect(e.graphQLMaxComplexity).toMatch(/complexity/);
    expect(stateToInput({ ...sub, graphQLMaxDepth: '8', graphQLMaxComplexity: '' })).toMatchObject({ graphQLMaxDepth: 8, graphQLMaxComplexity: null });
    const app = { ...emptyPolicy('APPLICATION'), name: 'App', graphQLMaxDepth: '8' };
    expect(validatePolicy(app)).toEqual({});
    expect(stateToInput(app).graphQLMaxDepth).toBeNull();
  });

  it('reads a stored tier back and describes its limit', () => {
    const p = policyToState({
      name: 'GqlGold',
      kind: 'SUBSCRIPTION',
      limitType: 'GRAPHQL_COST',
      costCount: 500,
      unitTimeSeconds: 60,
      graphQLMaxDepth: 6,
      graphQLMaxComplexity: 200,
      stopOnQuotaReach: true,
      failClosed: false,
      conditionGroups: [],
    });
    expect(p).toMatchObject({ costCount: '500', graphQLMaxDepth: '6', graphQLMaxComplexity: '200' });
    expect(describeLimit({ limitType: 'GRAPHQL_COST', costCount: 500, unitTimeSeconds: 60 })).toBe('500 query-cost units per minute');
  });
});
