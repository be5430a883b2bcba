import { describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINTS, chatRequest, cleanList, endpointForVendor, guardErrors, mcpClientConfig, mcpServerKey, parseChatResponse, tokensByModelTotals } from './ai';

describe('endpointForVendor', () => {
  it('fills the vendor default when empty or still a default, keeps a typed URL', () => {
    expect(endpointForVendor('', 'MISTRAL')).toBe(DEFAULT_ENDPOINTS.MISTRAL);
    expect(endpointForVendor(DEFAULT_ENDPOINTS.OPENAI, 'ANTHROPIC')).toBe(DEFAULT_ENDPOINTS.ANTHROPIC);
    expect(endpointForVendor('https://llm.internal/v1', 'ANTHROPIC')).toBe('https://llm.internal/v1');
  });
});

describe('cleanList', () => {
  it('trims, drops empties and duplicates, keeps order', () => {
    expect(cleanList([' gpt-4o ', '', 'gpt-4o', 'o3-mini', '  '])).toEqual(['gpt-4o', 'o3-mini']);
  });
});

describe('guardErrors', () => {
  it('accepts RE2 expressions and skips empty rows', () => {
    expect(guardErrors(['(?i)\\bpassword\\b', '(?s:a.b)', '\\d{3}-\\d{2}-\\d{4}', ''])).toEqual({});
  });
  it('names invalid expressions and constructs RE2 lacks, by index', () => {
    const e = guardErrors(['ok', '(unclosed', 'foo(?=bar)', '(a)\\1']);
    expect(Object.keys(e)).toEqual(['1', '2', '3']);
    expect(e[1]).toMatch(/Not a valid regular expression/);
    expect(e[2]).toMatch(/Lookahead/);
    expect(e[3]).toMatch(/Backreferences/);
  });
});

describe('chatRequest', () => {
  it('uses chat completions for OpenAI-style vendors and messages for Anthropic', () => {
    const o = chatRequest('OPENAI', 'gpt-4o-mini', 'hi');
    expect(o.path).toBe('/chat/completions');
    expect(JSON.parse(o.body)).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(JSON.parse(chatRequest('MISTRAL', '', 'x').body)).not.toHaveProperty('model');
    const a = chatRequest('ANTHROPIC', 'claude', 'hi');
    expect(a.path).toBe('/messages');
    expect(JSON.parse(a.body)).toMatchObject({ model: 'claude', max_tokens: 512 });
  });
});

describe('parseChatResponse', () => {
  it('reads an OpenAI answer and its usage', () => {
    const r = parseChatResponse(
      JSON.stringify({ model: 'gpt-4o-mini', choices: [{ message: { role: 'assistant', content: 'Hello!' } }], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } }),
    );
    expect(r).toEqual({ text: 'Hello!', model: 'gpt-4o-mini', usage: { promptTokens: 9, completionTokens: 3, totalTokens: 12 } });
  });
  it('reads an Anthropic answer and adds the total', () => {
    const r = parseChatResponse(JSON.stringify({ content: [{ type: 'text', text: 'Hi ' }, { type: 'text', text: 'there' }], usage: { input_tokens: 5, output_tokens: 2 } }));
    expect(r?.text).toBe('Hi there');
    expect(r?.usage).toEqual({ promptTokens: 5, completionTokens: 2, totalTokens: 7 });
  });
  it('leaves usage out when none is reported, and refuses non-chat bodies', () => {
    expect(parseChatResponse(JSON.stringify({ choices: [{ message: { content: 'x' } }] }))?.usage).toBeUndefined();
    expect(parseChatResponse('not json')).toBeUndefined();
    expect(parseChatResponse(JSON.stringify({ error: { message: 'quota' } }))).toBeUndefined();
  });
});

describe('mcpClientConfig', () => {
  it('builds the mcpServers entry with the token or a placeholder', () => {
    const c = JSON.parse(mcpClientConfig('Pet Store MCP', 'https://gw/pets-mcp/1.0.0/mcp', 'abc'));
    expect(c).toEqual({ mcpServers: { 'pet-store-mcp': { url: 'https://gw/pets-mcp/1.0.0/mcp', headers: { Authorization: 'Bearer abc' } } } });
    expect(JSON.parse(mcpClientConfig('x', 'u')).mcpServers.x.headers.Authorization).toBe('Bearer <token>');
    expect(mcpServerKey('  ***  ')).toBe('turnpike');
  });
});

describe('tokensByModelTotals', () => {
  it('sums buckets per model, weights latency by requests, sorts by tokens', () => {
    const row = (model: string, requests: number, total: number, latency: number, estimated = 0) => ({
      model,
      requests,
      promptTokens: total - 1,
      completionTokens: 1,
      totalTokens: total,
      estimatedRequests: estimated,
      providerLatencyAvgMs: latency,
    });
    const t = tokensByModelTotals([row('a', 1, 10, 100), row('b', 2, 50, 20, 1), row('a', 3, 30, 200)]);
    expect(t.map((x) => x.model)).toEqual(['b', 'a']);
    expect(t[1]).toMatchObject({ requests: 4, totalTokens: 40, promptTokens: 38, completionTokens: 2, estimatedRequests: 0 });
    expect(t[1].providerLatencyAvgMs).toBeCloseTo((100 + 600) / 4);
    expect(t[0].estimatedRequests).toBe(1);
  });
});
