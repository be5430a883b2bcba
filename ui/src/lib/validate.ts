// Form validators: each returns an error message, or null when the value is valid.
// Forms run them before sending anything to the server.

export type Validator = (value: string) => string | null;

export const required =
  (label: string): Validator =>
  (value) =>
    value.trim() === '' ? `${label} is required.` : null;

/** An API context: starts with /, no spaces, no trailing slash, no {templates}. */
export function contextPath(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Context is required.';
  if (!v.startsWith('/')) return 'Context must start with /.';
  if (v.length > 1 && v.endsWith('/')) return 'Context must not end with /.';
  if (v === '/') return 'Context must name a path, such as /pets.';
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(v)) return 'Context may contain only letters, digits, - . _ ~ and /.';
  if (v.includes('//')) return 'Context must not contain //.';
  return null;
}

/** A resource path template relative to the API: /pets/{id} or /*. */
export function resourcePath(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Path is required.';
  if (!v.startsWith('/')) return 'Path must start with /.';
  if (/\s/.test(v)) return 'Path must not contain spaces.';
  let depth = 0;
  for (const ch of v) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth < 0 || depth > 1) return 'Path has unbalanced { }.';
  }
  if (depth !== 0) return 'Path has unbalanced { }.';
  return null;
}

/** An absolute http(s) URL. */
export function httpUrl(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'URL is required.';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'Enter a valid URL, such as https://backend.example.com/v1.';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'URL must start with http:// or https://.';
  if (!u.hostname) return 'URL must name a host.';
  return null;
}

/** A WebSocket API's backend: an absolute ws(s):// or http(s):// URL. */
export function wsUrl(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'URL is required.';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'Enter a valid URL, such as ws://backend.example.com/chat.';
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(u.protocol)) return 'URL must start with ws://, wss://, http:// or https://.';
  if (!u.hostname) return 'URL must name a host.';
  return null;
}

/** A list of http(s) URLs (ws(s) too with `ws`), one a line; `min` of them at least. */
export function httpUrlList(lines: string[], min: number, label: string, ws = false): string | null {
  if (lines.length < min) return min === 1 ? `${label}: at least one URL is required.` : `${label}: at least ${min} URLs are required.`;
  for (const line of lines) {
    const err = ws ? wsUrl(line) : httpUrl(line);
    if (err) return `${label}: ${line}: ${err}`;
  }
  return null;
}

/** An API version: letters, digits, dots, dashes and underscores. */
export function version(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Version is required.';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)) return 'Version may contain only letters, digits, . _ and -, such as 1.0.0.';
  return null;
}

/** A whole number within bounds; empty allowed when `optional`. */
export function integer(
  label: string,
  opts: { min?: number; max?: number; optional?: boolean } = {},
): Validator {
  return (value) => {
    const v = value.trim();
    if (v === '') return opts.optional ? null : `${label} is required.`;
    if (!/^-?\d+$/.test(v)) return `${label} must be a whole number.`;
    const n = Number(v);
    if (opts.min !== undefined && n < opts.min) return `${label} must be at least ${opts.min}.`;
    if (opts.max !== undefined && n > opts.max) return `${label} must be at most ${opts.max}.`;
    return null;
  };
}

/** A policy, application or user name: no leading/trailing spaces, bounded length. */
export function name(label: string, max = 100): Validator {
  return (value) => {
    const v = value.trim();
    if (v === '') return `${label} is required.`;
    if (v.length > max) return `${label} must be at most ${max} characters.`;
    return null;
  };
}

/** Optional text of at most `max` characters (counted as the server does, after trimming). */
export function maxLength(label: string, max: number): Validator {
  return (value) => {
    const n = [...value.trim()].length;
    return n > max ? `${label} must be at most ${max} characters (it has ${n}).` : null;
  };
}

export function username(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Username is required.';
  if (!/^[A-Za-z0-9._@-]{3,64}$/.test(v)) return 'Username must be 3 to 64 letters, digits, . _ @ or -.';
  return null;
}

export function password(value: string): string | null {
  if (value === '') return 'Password is required.';
  if (value.length < 8) return 'Password must be at least 8 characters.';
  return null;
}

/**
 * A new password as the server takes it: 8 to 256 characters (at least 8 characters, at
 * most 256 bytes in UTF-8, which is 256 characters of plain ASCII).
 */
export function newPassword(value: string, label = 'New password'): string | null {
  if (value === '') return `${label} is required.`;
  if ([...value].length < 8) return `${label} must be at least 8 characters.`;
  if (new TextEncoder().encode(value).length > 256) return `${label} must be at most 256 characters.`;
  return null;
}

export function email(value: string, optional = true): string | null {
  const v = value.trim();
  if (v === '') return optional ? null : 'Email is required.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return 'Enter a valid email address.';
  return null;
}

/** Runs the validators of each field; returns only the fields that failed. */
export function validateAll<K extends string>(checks: Record<K, string | null>): Partial<Record<K, string>> {
  const errors: Partial<Record<K, string>> = {};
  for (const key of Object.keys(checks) as K[]) {
    const msg = checks[key];
    if (msg) errors[key] = msg;
  }
  return errors;
}

export function hasErrors(errors: Record<string, string | undefined>): boolean {
  return Object.values(errors).some(Boolean);
}

/** Splits a comma- or newline-separated list, trimming and dropping empties and duplicates. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(/[,\n]/)) {
    const t = part.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

export function splitLines(value: string): string[] {
  return value
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}
