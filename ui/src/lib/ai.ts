// Pure helpers for AI APIs and MCP servers in the portals: vendor defaults, list editing,
// prompt-guard checks, the chat try-it's request and answer, MCP client configuration and
// token usage by model.
import type { AiVendor } from '../gql/graphql';

export const AI_VENDORS: Array<{ value: AiVendor; label: string }> = [
  { value: 'OPENAI', label: 'OpenAI' },
  { value: 'AZURE_OPENAI', label: 'Azure OpenAI' },
  { value: 'ANTHROPIC', label: 'Anthropic' },
  { value: 'MISTRAL', label: 'Mistral' },
];

/** The provider's endpoint a new AI API starts with (Azure's names the resource and deployment). */
export const DEFAULT_ENDPOINTS: Record<AiVendor, string> = {
  OPENAI: 'https://api.openai.com/v1',
  AZURE_OPENAI: 'https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT',
  ANTHROPIC: 'https://api.anthropic.com/v1',
  MISTRAL: 'https://api.mistral.ai/v1',
};

/** The example models offered as placeholders per vendor. */
export const EXAMPLE_MODELS: Record<AiVendor, string> = {
  OPENAI: 'gpt-4o-mini',
  AZURE_OPENAI: 'gpt-4o',
  ANTHROPIC: 'claude-3-5-haiku-latest',
  MISTRAL: 'mistral-small-latest',
};

/**
 * The endpoint to show after the vendor changed: the new vendor's default when the field
 * still holds some vendor's default (or nothing), else what the user typed.
 */
export function endpointForVendor(current: string, vendor: AiVendor): string {
  const c = current.trim();
  if (c === '' || Object.values(DEFAULT_ENDPOINTS).includes(c)) return DEFAULT_ENDPOINTS[vendor];
  return current;
}

/** The non-empty, trimmed, distinct entries of a list editor. */
export function cleanList(items: string[]): string[] {
  const out: string[] = [];
  for (const i of items) {
    const t = i.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

/**
 * Errors of a prompt-guard list by index: each must be a regular expression. The gateway
 * uses RE2 (Go), which has no lookaround or backreferences; those are refused here too.
 */
export function guardErrors(guards: string[]): Record<number, string> {
  const errs: Record<number, string> = {};
  guards.forEach((g, i) => {
    const t = g.trim();
    if (!t) return;
    if (/\(\?<?[=!]/.test(t)) {
      errs[i] = 'Lookahead and lookbehind are not supported (RE2).';
      return;
    }
    if (/\\[1-9]/.test(t)) {
      errs[i] = 'Backreferences are not supported (RE2).';
      return;
    }
    try {
      // RE2 flag groups, (?i) and (?i:…), which JavaScript lacks: checked as flags.
      const flags = [...new Set((t.match(/\(\?([imsU-]+)[:)]/g) ?? []).join('').replace(/[^ims]/g, ''))].join('');
      new RegExp(t.replace(/\(\?[imsU-]+\)/g, '').replace(/\(\?[imsU-]+:/g, '(?:'), flags);
    } catch (e) {
      errs[i] = `Not a valid regular expression: ${(e as Error).message}`;
    }
  });
  return errs;
}

/** The chat try-it's request path (relative to the API) and JSON body for a vendor. */
export function chatRequest(vendor: AiVendor, model: string, message: string): { path: string; body: string } {
  if (vendor === 'ANTHROPIC') {
    return {
      path: '/messages',
      body: JSON.stringify({ model, max_tokens: 512, messages: [{ role: 'user', content: message }] }),
    };
  }
  const body: Record<string, unknown> = { messages: [{ role: 'user', content: message }] };
  if (model) body.model = model;
  return { path: '/chat/completions', body: JSON.stringify(body) };
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ChatAnswer {
  text: string;
  model?: string;
  usage?: ChatUsage;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * The answer and token usage of a provider's JSON response: OpenAI, Azure and Mistral
 * (choices[].message.content, usage.prompt_tokens…) or Anthropic (content[].text,
 * usage.input_tokens…). Undefined when the body is not such a response.
 */
export function parseChatResponse(body: string): ChatAnswer | undefined {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object') return undefined;
  const o = j as Record<string, unknown>;
  let text: string | undefined;
  if (Array.isArray(o.choices)) {
    text = o.choices
      .map((c) => {
        const m = (c as { message?: { content?: unknown } }).message?.content;
        return typeof m === 'string' ? m : '';
      })
      .join('\n');
  } else if (Array.isArray(o.content)) {
    text = o.content.map((c) => ((c as { text?: unknown }).text as string) ?? '').join('');
  }
  if (text === undefined) return undefined;
  const u = (o.usage ?? {}) as Record<string, unknown>;
  const prompt = num(u.prompt_tokens) ?? num(u.input_tokens);
  const completion = num(u.completion_tokens) ?? num(u.output_tokens);
  const total = num(u.total_tokens) ?? (prompt !== undefined && completion !== undefined ? prompt + completion : undefined);
  const usage =
    prompt !== undefined || completion !== undefined || total !== undefined
      ? { promptTokens: prompt ?? 0, completionTokens: completion ?? 0, totalTokens: total ?? 0 }
      : undefined;
  return { text, model: typeof o.model === 'string' ? o.model : undefined, usage };
}

/** An MCP server's name as a client configuration key: lower case letters, digits and -. */
export function mcpServerKey(name: string): string {
  const k = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return k || 'turnpike';
}

/**
 * The configuration MCP clients (Claude Desktop, Cursor, VS Code…) take for a remote server:
 * {"mcpServers": {name: {url, headers: {Authorization: "Bearer …"}}}}, with <token> when no
 * token was chosen.
 */
export function mcpClientConfig(name: string, url: string, token?: string): string {
  return JSON.stringify(
    { mcpServers: { [mcpServerKey(name)]: { url, headers: { Authorization: `Bearer ${token?.trim() || '<token>'}` } } } },
    null,
    2,
  );
}

export interface ModelTokenRow {
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimatedRequests: number;
  /** Average provider latency over the requests, weighted by each bucket's requests. */
  providerLatencyAvgMs: number;
}

/** Token usage per model over a period (bucket rows summed), most tokens first. */
export function tokensByModelTotals(
  rows: ModelTokenRow[],
): ModelTokenRow[] {
  const m = new Map<string, ModelTokenRow & { latencyWeight: number }>();
  for (const r of rows) {
    const t = m.get(r.model) ?? {
      model: r.model,
      requests: 0,
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
      estimatedRequests: 0,
      providerLatencyAvgMs: 0,
      latencyWeight: 0,
    };
    t.requests += r.requests;
    t.promptTokens += r.promptTokens;
    t.completionTokens += r.completionTokens;
    t.totalTokens += r.totalTokens;
    t.estimatedRequests += r.estimatedRequests;
    t.latencyWeight += r.providerLatencyAvgMs * r.requests;
    m.set(r.model, t);
  }
  return [...m.values()]
    .map(({ latencyWeight, ...t }) => ({ ...t, providerLatencyAvgMs: t.requests ? latencyWeight / t.requests : 0 }))
    .sort((a, b) => b.totalTokens - a.totalTokens || a.model.localeCompare(b.model));
}
