// Property tests of the two ways in: enqueueEmail() in TypeScript and
// mailroom.enqueue() in SQL. Generated valid requests are stored exactly as given;
// generated requests with one fault are refused with an error naming that field,
// and nothing is written. Seeded: set PROPERTY_SEED to replay a failing run.
import fc from 'fast-check';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { catalogue, enqueueEmail, type TemplateName } from './support/mailroom.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261128);
const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 60);
const runs = { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true } as const;

let database: TestDatabase;
let pool: pg.Pool;
let kysely: Kysely<unknown>;

beforeAll(async () => {
  console.log(`property tests: seed ${SEED}, ${NUM_RUNS} runs each (PROPERTY_SEED=${SEED} to replay)`);
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 3 });
  kysely = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }) });
});
afterAll(async () => {
  await kysely?.destroy();
  await pool?.end();
  await database?.drop();
});

const rowCount = async () => (await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n as number;

// ---- valid requests --------------------------------------------------------

/** Characters a local part may hold: ASCII word characters, punctuation that needs no quoting, and non-ASCII letters. */
const localChar = fc.constantFrom(...[...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&\'*+/=?^_`{|}~-éßø名字']);
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const address = fc
  .tuple(fc.string({ unit: localChar, minLength: 1, maxLength: 30 }), fc.array(label, { minLength: 2, maxLength: 3 }))
  .map(([local, labels]) => `${local}@${labels.join('.')}`);

const tokenValue = fc.stringMatching(/^[A-Za-z0-9_-]{16,80}$/);
/** A display name as a caller would pass it: one line, already trimmed (the schema trims). */
const nameChar = fc.constantFrom(...[...'AaBbZz09 \'"<>&;:,.()-éÅß名前🙂']);
const displayName = fc.string({ unit: nameChar, minLength: 1, maxLength: 100 }).filter((s) => s.trim() === s && s.length > 0);
const instant = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

/** Props generators for three templates with different shapes (optional, required, several header props). */
const propsFor: Record<'account-confirm' | 'account-reset' | 'team-invite', fc.Arbitrary<Record<string, unknown>>> = {
  'account-confirm': fc.record({ token: tokenValue, name: displayName, expiresAt: instant }, { requiredKeys: ['token'] }),
  'account-reset': fc.record({ token: tokenValue, name: displayName, expiresAt: instant }, { requiredKeys: ['token', 'expiresAt'] }),
  'team-invite': fc.record({ token: tokenValue, inviterName: displayName, teamName: displayName, expiresAt: instant }, {
    requiredKeys: ['token', 'inviterName', 'teamName'],
  }),
};
const templateName = fc.constantFrom(...(Object.keys(propsFor) as (keyof typeof propsFor)[]));

interface Request {
  template: string;
  to: string;
  props: unknown;
  idempotencyKey?: string;
  sendAfter?: Date;
  notAfter?: Date;
  priority?: number;
  locale?: string;
}

const when = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true });
let keyCounter = 0;
const validRequest: fc.Arbitrary<Request> = templateName.chain((template) =>
  fc.record(
    {
      template: fc.constant(template),
      to: address,
      props: propsFor[template],
      // Made unique per call below: a repeated key returns the first row by design.
      idempotencyKey: fc.string({ minLength: 1, maxLength: 180 }).filter((k) => !/[\r\n\0]/.test(k)),
      sendAfter: when,
      notAfter: when,
      priority: fc.integer({ min: -100, max: 100 }),
      locale: fc.constantFrom('en', 'fr', 'pt-BR', 'de'),
    },
    { requiredKeys: ['template', 'to', 'props'] },
  ),
);
const unique = (request: Request): Request =>
  request.idempotencyKey === undefined ? request : { ...request, idempotencyKey: `${++keyCounter}:${request.idempotencyKey}` };

// ---- one fault each ---------------------------------------------------------

interface Fault {
  name: string;
  /** The field named by enqueueEmail() (ValidationError.field). */
  field: string;
  /** The field named by mailroom.enqueue() (DETAIL field=...); null when only TypeScript checks it (finer zod rules). */
  sqlField: string | null;
  request: Request;
}

const requiredOf = (template: string) => (template === 'team-invite' ? ['teamName', 'inviterName', 'token'] : template === 'account-reset' ? ['expiresAt', 'token'] : ['token']);
const headerOf = (template: string) => (template === 'team-invite' ? ['inviterName', 'teamName'] : template === 'account-confirm' ? ['name'] : []);

const controlCharacter = fc.constantFrom('\r\n', '\n', '\r', '\r\nBcc: victim@evil.test', '\t', '\x00', '\x01', '\x1b', '\x1f', '\ud83d', '\udc00');
const insertAnywhere = (text: string, inserted: string, at: number) => {
  const i = at % (text.length + 1);
  return text.slice(0, i) + inserted + text.slice(i);
};
const badAddress = fc.oneof(
  // Header injection, other control characters and lone surrogates, anywhere in the address.
  { arbitrary: fc.tuple(address, controlCharacter, fc.nat()).map(([a, bad, at]) => insertAnywhere(a, bad, at)), weight: 10 },
  fc.constant('not-an-address'),
  fc.constant(''),
  fc.constant('a@b@example.test'),
  fc.constant('a b@example.test'),
  fc.constant('a@localhost'),
  fc.constant('<a@example.test>'),
  fc.constant('"a"@example.test'),
  fc.constant('a@-example.test'),
  fc.constant(`${'x'.repeat(65)}@example.test`),
  fc.constant(`a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}.test`), // over 254
);

const faulty: fc.Arbitrary<Fault> = fc.tuple(validRequest.map(unique), fc.nat(), fc.nat()).chain(([base, pick, pick2]) => {
  const props = base.props as Record<string, unknown>;
  const required = requiredOf(base.template);
  const headers = headerOf(base.template);
  const faults: fc.Arbitrary<Fault>[] = [
    badAddress.map((to) => ({ name: 'bad address', field: 'to', sqlField: 'to', request: { ...base, to } })),
    fc
      .string({ minLength: 0, maxLength: 40 })
      .filter((t) => !Object.hasOwn(catalogue, t) && !t.includes('\0'))
      .map((template) => ({ name: 'unknown template', field: 'template', sqlField: 'template', request: { ...base, template } })),
    fc.constant(required[pick % required.length]!).map((key) => {
      const { [key]: _dropped, ...rest } = props;
      return { name: 'missing required prop', field: `props.${key}`, sqlField: `props.${key}`, request: { ...base, props: rest } };
    }),
    fc
      .tuple(fc.constant(required[pick % required.length]!), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({})))
      .map(([key, value]) => ({
        name: 'ill-typed required prop',
        field: `props.${key}`,
        sqlField: `props.${key}`,
        request: { ...base, props: { ...props, [key]: value } },
      })),
    fc.constantFrom<unknown>([], [1, 2], 'props', 42, true, null).map((value) => ({
      name: 'props not an object',
      field: 'props',
      sqlField: 'props',
      request: { ...base, props: value },
    })),
    fc.integer({ min: 66_000, max: 3_000_000 }).map((size) => ({
      name: 'oversized props',
      field: 'props',
      sqlField: 'props',
      request: { ...base, props: { ...props, padding: 'y'.repeat(size) } },
    })),
    fc.oneof(fc.integer({ min: 101, max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: -101 })).map((priority) => ({
      name: 'priority out of range',
      field: 'priority',
      sqlField: 'priority',
      request: { ...base, priority },
    })),
    fc.double({ min: -100, max: 100, noNaN: true }).filter((p) => !Number.isInteger(p)).map((priority) => ({
      name: 'fractional priority',
      field: 'priority',
      sqlField: null, // an int parameter in SQL: refused by the cast, before the function
      request: { ...base, priority },
    })),
    fc
      .oneof(fc.constantFrom('a\nb', 'a\r\nb', 'key\r'), fc.constant('k'.repeat(201)))
      .map((idempotencyKey) => ({ name: 'bad idempotency key', field: 'idempotencyKey', sqlField: 'idempotency_key', request: { ...base, idempotencyKey } })),
    fc.constantFrom('EN', 'english', 'e', 'pt_BR', 'pt-br', 'en\n').map((locale) => ({ name: 'bad locale', field: 'locale', sqlField: 'locale', request: { ...base, locale } })),
    // PostgreSQL cannot store these at all (a SQL producer cannot even send them).
    fc.tuple(fc.constantFrom(...Object.keys(props)), fc.constantFrom('\x00', '\ud83d', '\udfff'), fc.nat()).map(([key, bad, at]) => ({
      name: 'NUL or lone surrogate in a prop',
      field: `props.${key}`,
      sqlField: null,
      request: { ...base, props: { ...props, [key]: insertAnywhere(String(props[key]), bad, at) } },
    })),
    fc.constantFrom('a\x00b', '\ud83d').map((idempotencyKey) => ({ name: 'NUL in idempotency key', field: 'idempotencyKey', sqlField: null, request: { ...base, idempotencyKey } })),
    // The schema's finer rules: only TypeScript checks them; a SQL row fails at render.
    fc.constantFrom('short', 'has space in it 0123', 'ünïcode-0123456789').map((token) => ({
      name: 'token breaks its pattern',
      field: 'props.token',
      sqlField: null,
      request: { ...base, props: { ...props, token } },
    })),
  ];
  if (headers.length > 0) {
    const key = headers[pick2 % headers.length]!;
    faults.push(
      fc.constantFrom('\r\nBcc: victim@evil.test', '\n', '\r', 'X\r\nSubject: pwned').map((bad) => ({
        name: 'line break in a header prop',
        field: `props.${key}`,
        sqlField: `props.${key}`,
        request: { ...base, props: { ...props, [key]: `Ada${bad}` } },
      })),
    );
  }
  return fc.oneof(...faults);
});

// ---- the two producers ------------------------------------------------------

async function enqueueSql(request: Request): Promise<string> {
  const { rows } = await pool.query(
    `select mailroom.enqueue(template => $1, recipient => $2, props => $3::jsonb, idempotency_key => $4,
                             send_after => coalesce($5::timestamptz, now()), priority => $6, not_after => $7, locale => $8) as id`,
    [
      request.template,
      request.to,
      JSON.stringify(request.props),
      request.idempotencyKey ?? null,
      request.sendAfter ?? null,
      request.priority ?? null,
      request.notAfter ?? null,
      request.locale ?? null,
    ],
  );
  return rows[0].id;
}

const enqueueTs = (executor: 'pg' | 'kysely', request: Request) => enqueueEmail(executor === 'pg' ? pool : kysely, request as never);

async function expectStored(id: string, request: Request): Promise<void> {
  const { rows } = await pool.query('select * from mailroom.outbox where id = $1', [id]);
  const row = rows[0];
  const policy = catalogue[request.template as TemplateName].policy;
  expect(row).toMatchObject({
    template: request.template,
    recipient: request.to,
    props: request.props,
    status: 'pending',
    attempts: 0,
    max_attempts: policy.maxAttempts,
    priority: request.priority ?? policy.priority,
    idempotency_key: request.idempotencyKey ?? null,
    locale: request.locale ?? null,
  });
  if (request.sendAfter) expect(row.send_after.getTime()).toBe(request.sendAfter.getTime());
  if (request.notAfter) expect(row.not_after.getTime()).toBe(request.notAfter.getTime());
}

describe('valid requests round-trip', () => {
  it('enqueueEmail() (pg client or Kysely) stores exactly what it was given', async () => {
    await fc.assert(
      fc.asyncProperty(validRequest.map(unique), fc.constantFrom<'pg' | 'kysely'>('pg', 'kysely'), async (request, executor) => {
        await expectStored(await enqueueTs(executor, request), request);
      }),
      runs,
    );
  });

  it('mailroom.enqueue() in SQL stores exactly what it was given', async () => {
    await fc.assert(
      fc.asyncProperty(validRequest.map(unique), async (request) => {
        await expectStored(await enqueueSql(request), request);
      }),
      runs,
    );
  });
});

describe('requests with one fault are refused naming the field, and write nothing', () => {
  it('enqueueEmail()', async () => {
    await fc.assert(
      fc.asyncProperty(faulty, fc.constantFrom<'pg' | 'kysely'>('pg', 'kysely'), async (fault, executor) => {
        const before = await rowCount();
        const error = await enqueueTs(executor, fault.request).then(
          (id) => new Error(`accepted (${fault.name}): ${id}`),
          (e: unknown) => e,
        );
        expect(error, fault.name).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field, `${fault.name}: ${(error as Error).message}`).toBe(fault.field);
        expect((error as Error).message.startsWith(`${fault.field}: `)).toBe(true);
        expect(await rowCount()).toBe(before);
      }),
      runs,
    );
  });

  it('mailroom.enqueue() in SQL, inside a transaction that counts before and after', async () => {
    await fc.assert(
      fc.asyncProperty(
        // PostgreSQL text cannot hold NUL or lone surrogates: such a parameter is refused before the function runs.
        faulty.filter((f) => f.sqlField !== null && !/[\0\p{Cs}]/u.test(f.request.to)),
        async (fault) => {
          const client = await pool.connect();
          try {
            await client.query('begin');
            const before = (await client.query('select count(*)::int as n from mailroom.outbox')).rows[0].n;
            await client.query('savepoint attempt');
            const error = await client
              .query(
                `select mailroom.enqueue(template => $1, recipient => $2, props => $3::jsonb, idempotency_key => $4,
                                         priority => $5, locale => $6)`,
                [fault.request.template, fault.request.to, JSON.stringify(fault.request.props), fault.request.idempotencyKey ?? null, fault.request.priority ?? null, fault.request.locale ?? null],
              )
              .then(() => new Error(`accepted (${fault.name})`), (e: unknown) => e as pg.DatabaseError);
            expect((error as pg.DatabaseError).detail, `${fault.name}: ${(error as Error).message}`).toBe(`field=${fault.sqlField}`);
            expect((error as Error).message).toMatch(/^mailroom\.enqueue: /);
            await client.query('rollback to savepoint attempt');
            const after = (await client.query('select count(*)::int as n from mailroom.outbox')).rows[0].n;
            await client.query('commit');
            expect(after).toBe(before);
          } finally {
            client.release();
          }
        },
      ),
      runs,
    );
  });
});
