// A client that trickles a request (headers or body, a byte at a time) is cut once
// the request has taken HTTP_REQUEST_TIMEOUT_MS to arrive: real sockets against a
// server listening on a real port, with a short timeout (1 s).
import { connect as connectTcp, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/env.ts';
import { httpOptionsFromEnv } from '../src/cli/http-from-env.ts';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
const TIMEOUT_MS = 1_000;
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let database: TestDatabase;
let db: Db;
let server: Server;
let port: number;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-test-slow-bodies' });
  // The sign-in form reads a body; its rate limit is raised so that all 40 sockets get to send one.
  server = buildServer({ db, logger, adminToken: TOKEN, ...httpOptionsFromEnv(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS), ADMIN_LOGIN_RATE_LIMIT: '10000' })) });
  await server.listen({ host: '127.0.0.1', port: 0 });
  port = (server.server.address() as { port: number }).port;
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  await database?.drop();
});

interface Trickler {
  socket: Socket;
  /** When the server closed the connection (ms after it opened), if it did. */
  closedAfterMs: number | undefined;
  /** What the server sent back. */
  received: () => string;
  stop(): void;
}

/** Open a connection, send `head` at once, then one byte of `drip` every `everyMs`. */
function trickle(head: string, drip: string, everyMs: number): Promise<Trickler> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    const opened = Date.now();
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    let at = 0;
    const t: Trickler = {
      socket,
      closedAfterMs: undefined,
      received: () => received,
      stop: () => {
        clearInterval(timer);
        socket.destroy();
      },
    };
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {}); // a reset after the server cuts us is expected
    socket.on('close', () => {
      clearInterval(timer);
      t.closedAfterMs ??= Date.now() - opened;
    });
    socket.once('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (socket.destroyed) return;
        socket.write(drip[at % drip.length]!);
        at++;
      }, everyMs);
      resolve(t);
    });
    socket.once('error', reject);
  });
}

const waitFor = async (done: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
};

describe('HTTP_REQUEST_TIMEOUT_MS', () => {
  it('cuts 40 of 40 connections trickling a request body, answering 408', async () => {
    const head = [
      'POST /admin/login HTTP/1.1',
      'Host: 127.0.0.1',
      'Content-Type: application/x-www-form-urlencoded',
      'Content-Length: 10000',
      '',
      '',
    ].join('\r\n');
    const sockets = await Promise.all(Array.from({ length: 40 }, () => trickle(head, 'token=aaaaaaaa&', 100)));
    try {
      await waitFor(() => sockets.every((s) => s.closedAfterMs !== undefined), TIMEOUT_MS * 6);
      const open = sockets.filter((s) => s.closedAfterMs === undefined).length;
      expect(open, `${open} of 40 slow-body sockets still open after ${TIMEOUT_MS * 6} ms`).toBe(0);
      for (const s of sockets) {
        expect(s.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
        expect(s.received()).toMatch(/^HTTP\/1\.1 408 /);
      }
    } finally {
      for (const s of sockets) s.stop();
    }
  });

  it('cuts a connection trickling its headers (slowloris)', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 10 }, () => trickle('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaa\r\n', 100)),
    );
    try {
      await waitFor(() => sockets.every((s) => s.closedAfterMs !== undefined), TIMEOUT_MS * 6);
      expect(sockets.filter((s) => s.closedAfterMs === undefined).length).toBe(0);
    } finally {
      for (const s of sockets) s.stop();
    }
  });

  it('cuts a connection that opens and says nothing', async () => {
    const silent = await trickle('', ' ', 60_000);
    try {
      await waitFor(() => silent.closedAfterMs !== undefined, TIMEOUT_MS * 6);
      expect(silent.closedAfterMs).toBeDefined();
    } finally {
      silent.stop();
    }
  });

  it('leaves a request that arrives in time alone, and the server keeps answering while it cuts others', async () => {
    const slow = await trickle(
      'POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n',
      'a',
      100,
    );
    try {
      // A body that takes about half the timeout: answered (403: no sign-in form's CSRF token), not cut.
      const body = 'token=wrong&next=%2Fadmin';
      const inTime = await trickle(
        `POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
        TIMEOUT_MS / 2 / body.length,
      );
      await waitFor(() => inTime.closedAfterMs !== undefined, TIMEOUT_MS * 3);
      expect(inTime.received()).toMatch(/^HTTP\/1\.1 403 /);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await waitFor(() => slow.closedAfterMs !== undefined, TIMEOUT_MS * 6);
      expect(slow.closedAfterMs).toBeDefined();
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      slow.stop();
    }
  });
});
