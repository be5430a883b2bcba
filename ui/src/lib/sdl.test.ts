import { describe, expect, it } from 'vitest';
import { fieldName, rootFields } from './sdl';

describe('rootFields', () => {
  it('lists queries, then mutations and subscriptions, skipping descriptions, comments, arguments and directives', () => {
    const sdl = `
      """The books"""
      type Query {
        "All of them"
        books(first: Int = 10, where: BookFilter): [Book!]! @listSize(assumedSize: 50)
        # not a field: comment
        book(id: ID!): Book @cost(weight: 2)
        __hidden: String
      }
      type Book { id: ID! title: String author: Author }
      input BookFilter { type: String }
      enum Kind { type other }
      type Mutation { addBook(title: String!): Book }
      type Subscription { bookAdded: Book }
      extend type Query { authors: [Author] }
    `;
    expect(rootFields(sdl)).toEqual([
      { kind: 'QUERY', name: 'books' },
      { kind: 'QUERY', name: 'book' },
      { kind: 'QUERY', name: 'authors' },
      { kind: 'MUTATION', name: 'addBook' },
      { kind: 'SUBSCRIPTION', name: 'bookAdded' },
    ]);
  });

  it('follows the root types a schema block names', () => {
    const sdl = 'schema { query: Root mutation: Change } type Root { ping: String } type Change { poke: Int } type Query { other: Int }';
    expect(rootFields(sdl)).toEqual([
      { kind: 'QUERY', name: 'ping' },
      { kind: 'MUTATION', name: 'poke' },
    ]);
  });

  it('finds nothing in SDL without root types', () => {
    expect(rootFields('')).toEqual([]);
    expect(rootFields('type Book { id: ID }')).toEqual([]);
  });
});

describe('fieldName', () => {
  it('takes GraphQL names and refuses others', () => {
    expect(fieldName('books')).toBeNull();
    expect(fieldName('')).toMatch(/required/);
    expect(fieldName('/books')).toMatch(/GraphQL name/);
    expect(fieldName('__schema')).toMatch(/Introspection/);
  });
});
