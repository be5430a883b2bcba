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
