// Bad input to the operator's side answers 4xx (or a clear CLI error) naming the
// field, never a 500: a list cursor holding an impossible date, a sign-in link whose
// `next` holds characters an HTTP header cannot carry, NUL characters in the pages'
// fields, and CLI durations beyond any sane retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../src/admin/http/plugin.tsx';
import { MAX_DURATION_MS, parseDuration } from '../src/admin/outbox-admin.ts';
import { connect, type Db } from '../src/db/connect.ts';
import { ValidationError } from '../src/errors.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { signInAdmin, submitLogin, type AdminSession } from './support/admin.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { config as fixtureConfig, enqueueEmail } from './support/mailroom.ts';
import { runCli } from './support/worker.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const ID = '00000000-0000-4000-8000-000000000000';

let database: TestDatabase;
let db: Db;
let server: Server;
let admin: AdminSession;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-test-hostile' });
  server = buildServer({ config: fixtureConfig, db, logger, adminToken: TOKEN, adminLoginRateLimit: 1_000 });
  admin = await signInAdmin(server, TOKEN);
  for (let i = 0; i < 3; i++) {
    await enqueueEmail(db.kysely, { template: 'account-confirm', to: `ada${i}@example.test`, props: { name: 'Ada', token: 'secret-token-0123456789' } });
  }
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  await database?.drop();
});

describe('the list cursor (/admin/outbox?after=...)', () => {
  it('refuses an impossible date with 400 naming `after`, in the admin page style', async () => {
    for (const at of ['2026-13-45T25:61:61.000000Z', '2026-02-30T00:00:00.000000Z', '2026-04-31T12:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '2026-01-01T23:59:60.000000Z']) {
      const response = await admin.get(`/admin/outbox?after=${encodeURIComponent(`${at}~${ID}`)}`);
      expect(response.statusCode, at).toBe(400);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('after:');
      expect(response.body).toContain('/admin/style.css');
    }
  });

  it('still pages with a real cursor', async () => {
    const first = await admin.get('/admin/outbox');
    expect(first.statusCode).toBe(200);
    const response = await admin.get(`/admin/outbox?after=${encodeURIComponent(`2026-02-28T23:59:59.999999Z~${ID}`)}`);
    expect(response.statusCode).toBe(200);
  });
});

describe('the sign-in link\'s `next`', () => {
  it('holding a character above U+00FF: sign-in works (the cookie is set) and `next` is sent percent-encoded', async () => {
    const next = '/admin/outbox?recipient=ā@example.test&template=…';
    const form = await server.inject({ method: 'GET', url: `/admin/login?next=${encodeURIComponent(next)}` });
    expect(form.statusCode).toBe(200);
    const response = await submitLogin(server, { token: TOKEN, next });
    expect(response.statusCode).toBe(303);
    expect(String(response.headers['set-cookie'])).toMatch(/^mailroom_admin=v1\./);
    expect(response.headers.location).toBe(`/admin/outbox?recipient=${encodeURIComponent('ā')}@example.test&template=${encodeURIComponent('…')}`);
    // And the page it leads to, with that session, is the filtered list.
    const cookie = String((response.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    const page = await server.inject({ method: 'GET', url: response.headers.location as string, headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('value="ā@example.test"');
  });

  it('keeps what is already percent-encoded as it is, and sends control characters and broken text to the overview', async () => {
    expect((await submitLogin(server, { token: TOKEN, next: '/admin/outbox?recipient=%C4%81' })).headers.location).toBe('/admin/outbox?recipient=%C4%81');
    for (const next of ['/admin/\u0000', '/admin/\u001b[31m', '/admin/\u007f', '/admin/\u0085', '/admin/\tx']) {
      const response = await submitLogin(server, { token: TOKEN, next });
      expect(response.statusCode, JSON.stringify(next)).toBe(303);
      expect(response.headers.location, JSON.stringify(next)).toBe('/admin');
      expect(String(response.headers['set-cookie'])).toMatch(/^mailroom_admin=v1\./);
    }
    // A lone surrogate (no form can send one: browsers replace it) cannot be encoded: the overview.
    expect(safeNext('/admin/x\ud800')).toBe('/admin');
    expect(safeNext('/admin/outbox?q=a b')).toBe('/admin/outbox?q=a%20b');
  });
});

describe('NUL characters in the pages\' fields', () => {
  it('answer 400 naming the field (PostgreSQL text cannot hold them)', async () => {
    for (const [url, name] of [
      ['/admin/outbox?recipient=a%00b', 'recipient'],
      ['/admin/outbox?template=a%00', 'template'],
      ['/admin/suppression?q=a%00', 'q'],
      ['/admin/suppression?after=a%00', 'after'],
    ] as const) {
      const response = await admin.get(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.body, url).toContain(`${name}:`);
    }
    for (const [url, fields, name] of [
      ['/admin/suppression/add', { address: 'ada@example.test', reason: 'a\u0000b' }, 'reason'],
      ['/admin/suppression/remove', { address: 'ada\u0000@example.test' }, 'address'],
    ] as const) {
      const response = await admin.post(url, fields);
      expect(response.statusCode, url).toBe(400);
      expect(response.body, url).toContain(`${name}:`);
    }
  });
});

describe('the overview and the attempt filters', () => {
  it('answer 400 naming the field for anything that is not a window, name, outcome or instant', async () => {
    for (const [url, name] of [
      ['/admin?window=month', 'window'],
      ['/admin?window=%00', 'window'],
      ['/admin?template=%27%3B%20drop%20table%20mailroom.outbox%3B--', 'template'],
      ['/admin?transport=smtp%0d%0aX-Evil:1', 'transport'],
      ['/admin/outbox?outcome=delivered', 'outcome'],
      ['/admin/outbox?transport=%3Cscript%3E', 'transport'],
      ['/admin/outbox?tried_from=2026-02-30T10:00Z', 'tried_from'],
      ['/admin/outbox?tried_from=yesterday', 'tried_from'],
      ['/admin/outbox?tried_to=2026-12-02T10:00:61Z', 'tried_to'],
      ['/admin/outbox?tried_from=2026-12-02T11:00Z&tried_to=2026-12-02T10:00Z', 'tried_to'],
      ['/admin/outbox/bulk?action=replay&status=failed&tried_from=2026-12-02T99:00Z', 'tried_from'],
    ] as const) {
      const response = await admin.get(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.headers['content-type'], url).toMatch(/^text\/html/);
      expect(response.body, url).toContain(`${name}:`);
    }
    // Good values answer 200, whatever they match.
    for (const url of ['/admin?window=week&template=account-confirm&transport=smtp', '/admin/outbox?outcome=retry&transport=mailjet&tried_from=2026-12-02T10:05Z']) {
      expect((await admin.get(url)).statusCode, url).toBe(200);
    }
  });
});

describe('CLI durations (parseDuration)', () => {
  it('refuses a duration beyond 100 years, naming the flag', () => {
    expect(MAX_DURATION_MS).toBe(100 * 365 * 86_400_000);
    expect(parseDuration('36500d', '--since')).toBe(36_500 * 86_400_000);
    for (const text of ['99999999999d', '36501d', '876001h', '9'.repeat(400) + 's']) {
      expect(() => parseDuration(text, '--since'), text).toThrow(ValidationError);
      expect(() => parseDuration(text, '--since'), text).toThrow(/^--since: .* longer than 100 years/);
    }
  });

  it('`mailroom list --since 99999999999d` exits 1 with one line naming --since, no stack', async () => {
    const { code, output } = await runCli(['list', '--since', '99999999999d'], { DATABASE_URL: database.url });
    expect(code).toBe(1);
    expect(output.trim()).toMatch(/^mailroom: --since: "99999999999d" is longer than 100 years/);
    expect(output).not.toMatch(/\n\s+at /);
    const purge = await runCli(['purge', '--sent-older-than', '99999999999d'], { DATABASE_URL: database.url });
    expect(purge.code).toBe(1);
    expect(purge.output).toContain('--sent-older-than');
    expect(purge.output).not.toMatch(/\n\s+at /);
  });
});
