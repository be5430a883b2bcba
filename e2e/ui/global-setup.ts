// Starts `bin/turnpike all-in-one` on free loopback ports with a fresh data directory
// when TURNPIKE_E2E_BASE_URL is not set, waits for GET /readyz to answer 200, and returns
// the teardown that stops it. With TURNPIKE_E2E_BASE_URL set (the Go harness starts the
// server), it only checks that the server is ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const artifacts = join(here, 'artifacts');

// Ports are drawn from below the kernel's ephemeral range and never handed out twice: two
// kernel-chosen ports in a row can be the same one (see FreePort in e2e/harness).
const handedOut = new Set<number>();

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const port = 12000 + Math.floor(Math.random() * 20000);
    if (handedOut.has(port) || !(await tryListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port found below the ephemeral range');
}

async function waitReady(url: string, child: ChildProcess | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`turnpike exited with code ${child.exitCode} before it was ready; see e2e/ui/artifacts/turnpike.log`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms (last: ${last})`);
}

export default async function globalSetup(): Promise<(() => Promise<void>) | void> {
  mkdirSync(artifacts, { recursive: true });
  if (process.env.TURNPIKE_E2E_BASE_URL) {
    if (!process.env.TURNPIKE_E2E_ADMIN_PASSWORD) throw new Error('TURNPIKE_E2E_BASE_URL is set but TURNPIKE_E2E_ADMIN_PASSWORD is not.');
    await waitReady(`${process.env.TURNPIKE_E2E_BASE_URL.replace(/\/+$/, '')}/readyz`, null, 60_000);
    return;
  }

  const bin = process.env.TURNPIKE_E2E_BIN ?? join(repo, 'bin', 'turnpike');
  const args = ['all-in-one'];
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run "npm run build:ui && go build -o bin/turnpike ./cmd/turnpike" first, or set TURNPIKE_E2E_BASE_URL.`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'turnpike-e2e-'));
  const port = await freePort();
  const gatewayPort = await freePort();
  const tmPort = await freePort();
  const password = `Adm1n-${randomBytes(12).toString('hex')}`;
  const log = createWriteStream(join(artifacts, 'turnpike.log'));
  const child = spawn(bin, args, {
    cwd: repo,
    env: {
      ...process.env,
      TURNPIKE_DATA_DIR: dataDir,
      TURNPIKE_LISTEN: `127.0.0.1:${port}`,
      TURNPIKE_GATEWAY_LISTEN: `127.0.0.1:${gatewayPort}`,
      TURNPIKE_TM_LISTEN: `127.0.0.1:${tmPort}`,
      TURNPIKE_ADMIN_PASSWORD: password,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);

  const base = `http://127.0.0.1:${port}`;
  process.env.TURNPIKE_E2E_BASE_URL = base;
  process.env.TURNPIKE_E2E_GATEWAY_URL = `http://127.0.0.1:${gatewayPort}`;
  process.env.TURNPIKE_E2E_ADMIN_PASSWORD = password;

  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    log.end();
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitReady(`${base}/readyz`, child, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  try {
    await waitReady(`http://127.0.0.1:${gatewayPort}/readyz`, child, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  if (child.exitCode !== null) {
    await stop();
    throw new Error(`turnpike exited with code ${child.exitCode}; see e2e/ui/artifacts/turnpike.log`);
  }
  return stop;
}
