// A tiny HTTP backend for the APIs under test: answers every request with 200 and a JSON
// echo (with the request's headers when asked), and records what reached it.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  url: string;
  requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function startBackend(opts: { echoHeaders?: boolean } = {}): Promise<Backend> {
  const requests: Backend['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': 'e2e' });
      res.end(
        JSON.stringify({
          message: 'hello from the e2e backend',
          method: req.method,
          path: req.url,
          body: body || undefined,
          headers: opts.echoHeaders ? req.headers : undefined,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A GraphQL backend (graphql-js): answers POST {query, variables} against its schema. */
export interface GraphQLBackend extends Backend {
  sdl: string;
}

export const BOOKS_SDL = `type Query {
  "The books, the first ones when first is given."
  books(first: Int): [Book!]!
  hello: String
}

type Book {
  title: String!
  author: String!
}

type Mutation {
  addBook(title: String!, author: String!): Book
}
`;

export async function startGraphQLBackend(): Promise<GraphQLBackend> {
  const { buildSchema, graphql } = await import('graphql');
  const schema = buildSchema(BOOKS_SDL);
  const books = [
    { title: 'Dune', author: 'Frank Herbert' },
    { title: 'Hyperion', author: 'Dan Simmons' },
    { title: 'Solaris', author: 'Stanisław Lem' },
  ];
  const rootValue = {
    books: ({ first }: { first?: number }) => (first == null ? books : books.slice(0, first)),
    hello: () => 'hello from the e2e GraphQL backend',
    addBook: (b: { title: string; author: string }) => (books.push(b), b),
  };
  const requests: Backend['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      let payload: { query?: string; variables?: Record<string, unknown>; operationName?: string } = {};
      try {
        payload = JSON.parse(body || '{}');
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: 'the body is not JSON' }] }));
        return;
      }
      const result = await graphql({
        schema,
        source: payload.query ?? '',
        rootValue,
        variableValues: payload.variables,
        operationName: payload.operationName,
      });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    sdl: BOOKS_SDL,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A WebSocket echo backend (the ws package): answers each text frame with "echo: <text>". */
export interface EchoSocketBackend {
  url: string;
  /** The query strings the upgrades reached it with (the gateway strips access_token). */
  upgrades: string[];
  close(): Promise<void>;
}

export async function startEchoSocketBackend(): Promise<EchoSocketBackend> {
  const { WebSocketServer } = await import('ws');
  const upgrades: string[] = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.on('listening', () => resolve()));
  wss.on('connection', (socket, req) => {
    upgrades.push(new URL(req.url ?? '/', 'http://x').search);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) socket.send(`echo: ${data.toString()}`);
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
