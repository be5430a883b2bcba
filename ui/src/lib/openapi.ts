// Reads the operations of an OpenAPI 3 document (the API's `openAPI` JSON) for the
// Developer Portal's resource list and try-it console.

export interface OperationParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  schemaType?: string;
}

export interface Operation {
  method: string; // upper case
  path: string;
  summary?: string;
  description?: string;
  operationId?: string;
  tags: string[];
  parameters: OperationParameter[];
  requestBody?: { required: boolean; contentTypes: string[]; example?: string };
  deprecated: boolean;
}

export interface ParsedOpenAPI {
  title?: string;
  version?: string;
  operations: Operation[];
  error?: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const PARAM_LOCATIONS = new Set(['path', 'query', 'header', 'cookie']);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Follows a local JSON reference (#/components/...), at most a few hops. */
function deref(doc: Json, value: unknown, hops = 0): unknown {
  if (!isObject(value) || typeof value.$ref !== 'string' || hops > 8) return value;
  const ref = value.$ref;
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return deref(doc, cur, hops + 1);
}

function readParameters(doc: Json, list: unknown): OperationParameter[] {
  if (!Array.isArray(list)) return [];
  const out: OperationParameter[] = [];
  for (const item of list) {
    const p = deref(doc, item);
    if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string') continue;
    if (!PARAM_LOCATIONS.has(p.in)) continue; // Swagger 2 body/formData parameters are not parameters in OpenAPI 3
    const schema = deref(doc, p.schema);
    out.push({
      name: p.name,
      in: p.in as OperationParameter['in'],
      required: p.in === 'path' ? true : p.required === true,
      description: typeof p.description === 'string' ? p.description : undefined,
      schemaType: isObject(schema) && typeof schema.type === 'string' ? schema.type : typeof p.type === 'string' ? p.type : undefined,
    });
  }
  return out;
}

/** The names of the {templates} in a path, in order. */
export function pathParamNames(path: string): string[] {
  const names: string[] = [];
  const re = /\{([^}]+)\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) names.push(m[1]);
  return names;
}

function exampleFor(doc: Json, media: unknown): string | undefined {
  const m = deref(doc, media);
  if (!isObject(m)) return undefined;
  if (m.example !== undefined) return JSON.stringify(m.example, null, 2);
  if (isObject(m.examples)) {
    const first = deref(doc, Object.values(m.examples)[0]);
    if (isObject(first) && first.value !== undefined) return JSON.stringify(first.value, null, 2);
  }
  const schema = deref(doc, m.schema);
  if (isObject(schema) && schema.example !== undefined) return JSON.stringify(schema.example, null, 2);
  return undefined;
}

export function parseOpenAPI(source: string | null | undefined): ParsedOpenAPI {
  if (!source || source.trim() === '') return { operations: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(source);
  } catch {
    return { operations: [], error: 'The API definition is not valid JSON.' };
  }
  if (!isObject(doc)) return { operations: [], error: 'The API definition is not an object.' };
  const info = isObject(doc.info) ? doc.info : {};
  const operations: Operation[] = [];
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(doc, rawItem);
    if (!isObject(item)) continue;
    const shared = readParameters(doc, item.parameters);
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const own = readParameters(doc, op.parameters);
      // Operation-level parameters override path-level ones with the same name and location.
      const params = [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own];
      for (const name of pathParamNames(path)) {
        if (!params.some((p) => p.in === 'path' && p.name === name)) params.push({ name, in: 'path', required: true });
      }
      let requestBody: Operation['requestBody'];
      const body = deref(doc, op.requestBody);
      if (isObject(body)) {
        const content = isObject(body.content) ? body.content : {};
        const types = Object.keys(content);
        requestBody = {
          required: body.required === true,
          contentTypes: types,
          example: types.length ? exampleFor(doc, content[types.find((t) => t.includes('json')) ?? types[0]]) : undefined,
        };
      } else if (Array.isArray(op.parameters) && op.parameters.some((p) => isObject(p) && p.in === 'body')) {
        requestBody = { required: false, contentTypes: ['application/json'] };
      }
      operations.push({
        method: method.toUpperCase(),
        path,
        summary: typeof op.summary === 'string' ? op.summary : undefined,
        description: typeof op.description === 'string' ? op.description : undefined,
        operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
        tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [],
        parameters: params,
        requestBody,
        deprecated: op.deprecated === true,
      });
    }
  }
  return {
    title: typeof info.title === 'string' ? info.title : undefined,
    version: typeof info.version === 'string' ? info.version : undefined,
    operations,
  };
}

/**
 * The URL to call: the gateway base URL, the path template with its parameters filled in
 * (URL-encoded), and the query parameters that have a value.
 */
export function buildRequestUrl(
  base: string,
  pathTemplate: string,
  pathParams: Record<string, string>,
  query: Record<string, string> = {},
): string {
  const filled = pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(pathParams[name] ?? ''));
  const joined = base.replace(/\/+$/, '') + (filled.startsWith('/') ? filled : `/${filled}`);
  const qs = Object.entries(query)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return qs ? `${joined}?${qs}` : joined;
}

/** Whether a method usually carries a request body. */
export function methodHasBody(method: string): boolean {
  return ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method.toUpperCase());
}
