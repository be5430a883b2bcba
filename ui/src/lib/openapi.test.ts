import { describe, expect, it } from 'vitest';
import { buildRequestUrl, methodHasBody, parseOpenAPI, pathParamNames } from './openapi';

const petstore = {
  openapi: '3.0.3',
  info: { title: 'Swagger Petstore', version: '1.0.0' },
  paths: {
    '/pets': {
      get: {
        summary: 'List all pets',
        operationId: 'listPets',
        tags: ['pets'],
        parameters: [{ name: 'limit', in: 'query', required: false, description: 'How many items', schema: { type: 'integer' } }],
      },
      post: {
        summary: 'Create a pet',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' }, example: { id: 1, name: 'Rex' } } },
        },
      },
    },
    '/pets/{petId}': {
      parameters: [{ $ref: '#/components/parameters/PetId' }],
      get: { summary: 'Info for a specific pet', operationId: 'showPetById' },
      delete: { summary: 'Delete a pet', deprecated: true, parameters: [{ name: 'X-Reason', in: 'header', schema: { type: 'string' } }] },
    },
    '/stores/{storeId}/orders': { get: {} },
  },
  components: {
    parameters: { PetId: { name: 'petId', in: 'path', required: true, description: 'The pet', schema: { type: 'string' } } },
    schemas: { Pet: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } } },
  },
};

describe('parseOpenAPI', () => {
  const parsed = parseOpenAPI(JSON.stringify(petstore));

  it('lists every operation with method, path and summary', () => {
    expect(parsed.title).toBe('Swagger Petstore');
    expect(parsed.operations.map((o) => `${o.method} ${o.path}`)).toEqual([
      'GET /pets',
      'POST /pets',
      'GET /pets/{petId}',
      'DELETE /pets/{petId}',
      'GET /stores/{storeId}/orders',
    ]);
    expect(parsed.operations[0].summary).toBe('List all pets');
    expect(parsed.operations[0].operationId).toBe('listPets');
    expect(parsed.operations[0].tags).toEqual(['pets']);
  });

  it('reads query parameters with their schema type', () => {
    expect(parsed.operations[0].parameters).toEqual([
      { name: 'limit', in: 'query', required: false, description: 'How many items', schemaType: 'integer' },
    ]);
  });

  it('resolves $ref parameters declared on the path item', () => {
    const get = parsed.operations[2];
    expect(get.parameters).toEqual([{ name: 'petId', in: 'path', required: true, description: 'The pet', schemaType: 'string' }]);
    const del = parsed.operations[3];
    expect(del.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:petId', 'header:X-Reason']);
    expect(del.deprecated).toBe(true);
  });

  it('adds undeclared path template parameters', () => {
    expect(parsed.operations[4].parameters).toEqual([{ name: 'storeId', in: 'path', required: true }]);
  });

  it('describes the request body with an example', () => {
    const post = parsed.operations[1];
    expect(post.requestBody?.required).toBe(true);
    expect(post.requestBody?.contentTypes).toEqual(['application/json']);
    expect(JSON.parse(post.requestBody?.example ?? '{}')).toEqual({ id: 1, name: 'Rex' });
  });

  it('reports invalid JSON instead of throwing', () => {
    expect(parseOpenAPI('{nope').error).toMatch(/not valid JSON/);
    expect(parseOpenAPI('').operations).toEqual([]);
    expect(parseOpenAPI('[]').error).toBeDefined();
  });

  it('survives reference loops and unknown references', () => {
    const doc = {
      paths: { '/a': { get: { parameters: [{ $ref: '#/components/parameters/Loop' }, { $ref: 'other.yaml#/x' }] } } },
      components: { parameters: { Loop: { $ref: '#/components/parameters/Loop' } } },
    };
    expect(parseOpenAPI(JSON.stringify(doc)).operations[0].parameters).toEqual([]);
  });
});

describe('request building', () => {
  it('fills path templates, encoding the values', () => {
    expect(pathParamNames('/stores/{storeId}/pets/{petId}')).toEqual(['storeId', 'petId']);
    expect(buildRequestUrl('http://gw:8280/pets/1.0.0/', '/pets/{petId}', { petId: 'a b/c' })).toBe(
      'http://gw:8280/pets/1.0.0/pets/a%20b%2Fc',
    );
  });

  it('adds only the query parameters that have a value', () => {
    expect(buildRequestUrl('http://gw/pets/1', '/pets', {}, { limit: '10', q: '', tag: 'x&y' })).toBe(
      'http://gw/pets/1/pets?limit=10&tag=x%26y',
    );
  });

  it('knows which methods carry a body', () => {
    expect(methodHasBody('post')).toBe(true);
    expect(methodHasBody('GET')).toBe(false);
  });
});
