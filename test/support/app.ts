// The reference app (src/app) on a test scenario: a fresh database with the app's
// schema, a server built by buildServer() as `mailroom serve` builds it, and a
// client that keeps every response body, so a test can prove none carried a token.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Outbox } from '../../app/context.ts';
import { migrateApp } from '../../app/index.ts';
import { appConfig } from './app-config.ts';

export { appConfig };
import { connect, type Db } from '../../src/db/connect.ts';
import { buildServer, type Server } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { mailroomTesting } from 'mailroom/testing';
import { config } from './product.ts';
import { useScenario, type Scenario, type ScenarioOptions } from './scenario.ts';

export const FRONTEND = 'https://app.example';


export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export interface AppScenario extends Scenario {
  server: Server;
  appDb: Db;
  /** POST a JSON body, with a session if given. */
  post<T = any>(path: string, body: unknown, session?: string): Promise<ApiResponse<T>>;
  /** Every response body this scenario received, as sent on the wire. */
  responseBodies: string[];
  /** Outbox rows written since the last call, oldest first. */
  newOutboxRows(): Promise<OutboxRow[]>;
  /** Rows in a table. */
  count(table: string): Promise<number>;
  /** The stored token row behind a token sent in an email. */
  tokenRecord(token: string): Promise<{ id: string; purpose: string; expires_at: Date; used_at: Date | null } | undefined>;
  /** Fails if any response body so far contains any token ever written to the outbox. */
  expectNoResponseCarriedAToken(): Promise<void>;
  /** Sign up, verify through the outbox row's link, log in: a session token. */
  signedInUser(email: string, name: string): Promise<string>;
}

export interface OutboxRow {
  id: string;
  template: string;
  recipient: string;
  props: Record<string, any>;
  idempotency_key: string | null;
  not_after: Date | null;
}

export interface AppScenarioOptions extends ScenarioOptions {
  authRateLimit?: { max: number; timeWindowMs: number };
  outbox?: Outbox;
}

export const PASSWORD = 'correct horse battery';

export function useAppScenario(options: AppScenarioOptions = {}): AppScenario {
  const s = useScenario({ config, ...options }) as AppScenario;
  const seen = new Set<string>();
  s.responseBodies = [];

  beforeAll(async () => {
    await migrateApp(s.database.url);
    s.appDb = connect(s.database.url, { max: 6, applicationName: 'mailroom-app-test' });
    s.server = buildServer({
      db: s.appDb,
      logger: createLogger({ level: (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent' }),
      config: appConfig({ authRateLimit: options.authRateLimit ?? { max: 10_000, timeWindowMs: 60_000 }, ...(options.outbox ? { outbox: options.outbox } : {}) }),
    });
    await s.server.ready();
  });

  afterAll(async () => {
    await s.server?.close();
    await s.appDb?.close();
  });

  s.post = async (path, body, session) => {
    const response = await s.server.inject({
      method: 'POST',
      url: path,
      payload: body as object,
      headers: session ? { authorization: `Bearer ${session}` } : {},
    });
    s.responseBodies.push(response.body);
    return { status: response.statusCode, body: (response.body ? response.json() : undefined) as never };
  };

  s.newOutboxRows = async () => {
    const { rows } = await s.pool.query<OutboxRow>(
      'select id, template, recipient, props, idempotency_key, not_after from mailroom.outbox order by created_at, id',
    );
    const fresh = rows.filter((row) => !seen.has(row.id));
    for (const row of fresh) seen.add(row.id);
    return fresh;
  };

  s.count = async (table) => (await s.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;
  s.tokenRecord = async (token) =>
    (await s.pool.query('select id, purpose, expires_at, used_at from app.email_token where token_hash = $1', [createHash('sha256').update(token).digest()])).rows[0];
  s.expectNoResponseCarriedAToken = async () => {
    const { rows } = await s.pool.query<{ token: string }>(`select props->>'token' as token from mailroom.outbox where props ? 'token'`);
    expect(rows.length).toBeGreaterThan(0);
    for (const body of s.responseBodies) for (const { token } of rows) expect(body).not.toContain(token);
  };

  s.signedInUser = async (email, name) => {
    await s.newOutboxRows();
    const signup = await s.post('/auth/signup', { email, password: PASSWORD, name });
    if (signup.status !== 202) throw new Error(`signup of ${email}: ${signup.status}`);
    const [row] = await s.newOutboxRows();
    const verified = await s.post('/auth/verify', { token: new URL(await linkIn(row!)).searchParams.get('token') });
    if (verified.status !== 200) throw new Error(`verify of ${email}: ${verified.status}`);
    const login = await s.post('/auth/login', { email, password: PASSWORD });
    return login.body.session as string;
  };

  return s;
}

/** The product's test helper (mailroom/testing), as the app's tests use it. */
export const mailbox = mailroomTesting(config, { baseUrl: FRONTEND });

/** The first link into the front end in an outbox row's email, rendered as the worker would. */
export async function linkIn(row: Pick<OutboxRow, 'template' | 'props'>): Promise<string> {
  const { links } = await mailbox.render(row);
  const link = links.find((l) => l.startsWith(`${FRONTEND}/`));
  if (!link) throw new Error(`no link into ${FRONTEND} in the ${row.template} email`);
  return link;
}

/** Links into the front end found in an email body. */
export function linksIn(body: string): string[] {
  return [...body.matchAll(/https:\/\/app\.example\/[^\s)\]"'<>]*/g)].map((m) => m[0].replace(/&amp;/g, '&'));
}

/** The token of a link, e.g. https://app.example/verify?token=... */
export const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;

/**
 * Run `fn` while the outbox refuses (raises on) any email to an address starting
 * with `boom`: a real failure inside the handler's transaction, after its token insert.
 */
export async function withOutboxRefusingBoom(pool: import('pg').Pool, fn: () => Promise<void>): Promise<void> {
  await pool.query(`
    create function public.refuse_boom() returns trigger language plpgsql as $$
    begin raise exception 'forced failure for %', new.recipient; end $$;
    create trigger refuse_boom before insert on mailroom.outbox
      for each row when (new.recipient like 'boom%') execute function public.refuse_boom();`);
  try {
    await fn();
  } finally {
    await pool.query('drop trigger refuse_boom on mailroom.outbox; drop function public.refuse_boom()');
  }
}
