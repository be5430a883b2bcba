// A GraphQL SDL's root fields, read without a GraphQL library (the portals do not ship one):
// enough to list a GRAPHQL API's operations before the server checks the schema for real.

/** An operation kind, as a GRAPHQL API's resource method. */
export type OperationKind = 'QUERY' | 'MUTATION' | 'SUBSCRIPTION';

export const OPERATION_KINDS: OperationKind[] = ['QUERY', 'MUTATION', 'SUBSCRIPTION'];

/** One root field: a resource of a GRAPHQL API is method = kind, path = name. */
export interface RootField {
  kind: OperationKind;
  name: string;
}

type Token = { t: 'name' | 'punct'; v: string };

/** Splits SDL into names and punctuation, dropping comments, strings (descriptions) and commas. */
function tokenize(sdl: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sdl.length) {
    const c = sdl[i];
    if (c === '#') {
      while (i < sdl.length && sdl[i] !== '\n') i++;
    } else if (sdl.startsWith('"""', i)) {
      const end = sdl.indexOf('"""', i + 3);
      i = end < 0 ? sdl.length : end + 3;
    } else if (c === '"') {
      i++;
      while (i < sdl.length && sdl[i] !== '"' && sdl[i] !== '\n') i += sdl[i] === '\\' ? 2 : 1;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sdl.slice(i, i + 256))!;
      out.push({ t: 'name', v: m[0] });
      i += m[0].length;
    } else if (/[\s,]/.test(c)) {
      i++;
    } else {
      out.push({ t: 'punct', v: c });
      i++;
    }
  }
  return out;
}

/**
 * The root fields of an SDL, queries first, then mutations and subscriptions, each in the
 * SDL's order (extensions included; __ fields left out). Root types are Query, Mutation and
 * Subscription unless a schema { } block names others.
 */
export function rootFields(sdl: string): RootField[] {
  const toks = tokenize(sdl);
  const roots: Record<OperationKind, string> = { QUERY: 'Query', MUTATION: 'Mutation', SUBSCRIPTION: 'Subscription' };
  const fields: Record<string, string[]> = {};
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i];
    if (tok.t !== 'name') continue;
    if (tok.v === 'schema' && toks[i + 1]?.v === '{' && (i === 0 || toks[i - 1].v !== ':')) {
      for (let j = i + 2; j + 2 < toks.length && toks[j].v !== '}'; j += 3) {
        const kind = toks[j].v.toUpperCase() as OperationKind;
        if (OPERATION_KINDS.includes(kind) && toks[j + 1].v === ':') roots[kind] = toks[j + 2].v;
      }
      continue;
    }
    if (tok.v !== 'type' || toks[i + 1]?.t !== 'name') continue;
    // A type definition: skip implements/directives up to its {, then read field names at depth 1.
    const typeName = toks[i + 1].v;
    let j = i + 2;
    while (j < toks.length && !['{', '}', 'type', 'extend'].includes(toks[j].v)) {
      if (toks[j].v === '(') j = skipParens(toks, j);
      else j++;
    }
    if (toks[j]?.v !== '{') continue;
    const list = (fields[typeName] ??= []);
    j++;
    while (j < toks.length && toks[j].v !== '}') {
      const name = toks[j];
      if (name.t === 'name' && !name.v.startsWith('__') && !list.includes(name.v)) list.push(name.v);
      j++;
      if (toks[j]?.v === '(') j = skipParens(toks, j);
      // Skip the type, directives and their arguments up to the next field name.
      while (j < toks.length && toks[j].v !== '}') {
        if (toks[j].v === '(') {
          j = skipParens(toks, j);
          continue;
        }
        if (toks[j].v === '@') {
          j += 2;
          continue;
        }
        if (toks[j].t === 'name' && toks[j - 1].v !== ':' && toks[j - 1].v !== '[' && toks[j - 1].v !== '@') break;
        j++;
      }
    }
    i = j;
  }
  return OPERATION_KINDS.flatMap((kind) => (fields[roots[kind]] ?? []).map((name) => ({ kind, name })));
}

function skipParens(toks: Token[], j: number): number {
  let depth = 0;
  for (; j < toks.length; j++) {
    if (toks[j].v === '(') depth++;
    if (toks[j].v === ')' && --depth === 0) return j + 1;
  }
  return j;
}

/** A root field name as the server takes it for a resource path. */
export function fieldName(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Field is required.';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return 'Field must be a GraphQL name, such as books.';
  if (v.startsWith('__')) return 'Introspection fields are not operations.';
  return null;
}
