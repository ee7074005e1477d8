// One rule set, two enforcers (issue 13): over every template of the fixture
// catalogue and of the product's, props generated from the template's own zod
// schema, and near misses of them (one character short or too long, a wrong enum
// value, a bad nested item, an extra key, a wrong type, a missing key, white space
// that .trim() takes away), go through enqueue() in TypeScript and
// mailroom.enqueue() in SQL. Both accept, or both refuse naming the same field; a
// refusal writes nothing. Seeded: set PROPERTY_SEED to replay a failing run.
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ValidationError } from '../src/index.ts';
import { config as fixtureConfig, enqueueEmail as enqueueFixture } from './support/mailroom.ts';
import { config as productConfig, enqueueEmail as enqueueProduct } from './support/product.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261202);
const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const runs = { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true } as const;

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  console.log(`property tests: seed ${SEED}, ${NUM_RUNS} runs each (PROPERTY_SEED=${SEED} to replay)`);
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

type Enqueue = (db: pg.Pool, request: { template: string; to: string; props: unknown }) => Promise<string>;
interface Template {
  name: string;
  schema: z.ZodObject;
  enqueue: Enqueue;
}
const templates: Template[] = [
  ...Object.entries(fixtureConfig.templates).map(([name, t]) => ({ name, schema: t.schema as unknown as z.ZodObject, enqueue: enqueueFixture as unknown as Enqueue })),
  ...Object.entries(productConfig.templates).map(([name, t]) => ({ name, schema: t.schema as unknown as z.ZodObject, enqueue: enqueueProduct as unknown as Enqueue })),
];

// ---- props from a zod schema -------------------------------------------------

type Def = Record<string, any> & { type: string };
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;
const checksOf = (def: Def): Record<string, any>[] => [...(typeof def.check === 'string' ? [def] : []), ...(def.checks ?? []).map((c: { _zod: { def: object } }) => c._zod.def)];

/** Characters a name may hold: ASCII, accents, CJK, an emoji (two UTF-16 units), JavaScript white space. */
const textUnit = fc.constantFrom(...[...'AaBbZz09 \'"<>&;:,.()-_éÅß名前'], '🙂', '\u00a0', '\u3000', '\ufeff', '\t');

/** Values the schema is likely to accept (filtered by zod: what zod accepts is the reference). */
function arbitraryFor(schema: unknown): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
      return arbitraryFor(def.innerType);
    case 'pipe':
      return arbitraryFor(def.out).filter((v) => (schema as z.ZodType).safeParse(v).success);
    case 'string': {
      const checks = checksOf(def);
      const patterns = checks.filter((c) => c.pattern instanceof RegExp && c.pattern.source !== '^[^\\r\\n]*$').map((c) => c.pattern as RegExp);
      const min = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
      const max = checks.find((c) => c.check === 'max_length')?.maximum ?? min + 30;
      const base = patterns.length
        ? fc.stringMatching(patterns[patterns.length - 1]!)
        : fc.tuple(fc.string({ unit: textUnit, minLength: min, maxLength: Math.min(max, min + 40) }), fc.boolean()).map(([s, pad]) => (pad ? ` ${s} ` : s));
      return base.filter((v) => (schema as z.ZodType).safeParse(v).success);
    }
    case 'number': {
      const checks = checksOf(def);
      const min = checks.find((c) => c.check === 'greater_than')?.value ?? -1000;
      const max = checks.find((c) => c.check === 'less_than')?.value ?? 1000;
      return fc.integer({ min, max });
    }
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as Record<string, unknown>));
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]));
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const checks = checksOf(def);
      const min = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
      const max = checks.find((c) => c.check === 'max_length')?.maximum ?? min + 3;
      return fc.array(arbitraryFor(def.element), { minLength: min, maxLength: Math.min(max, min + 3) });
    }
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      const required = Object.keys(shape).filter((k) => (shape[k] as unknown as { _zod: { optin?: string } })._zod.optin !== 'optional');
      return fc.record(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, arbitraryFor(v)])), { requiredKeys: required });
    }
    default:
      throw new Error(`no generator for zod type ${def.type}`);
  }
}

// ---- near misses ---------------------------------------------------------------

type Json = unknown;
/** Every path into a JSON value (the value itself first). */
function pathsOf(value: Json, path: (string | number)[] = []): (string | number)[][] {
  const here = [path];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => pathsOf(v, [...path, i]))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...path, k]))];
  return here;
}
const getAt = (value: Json, path: (string | number)[]): Json => path.reduce<any>((v, k) => v[k], value);
function setAt(value: Json, path: (string | number)[], replace: (old: Json) => Json | typeof REMOVE): Json {
  if (path.length === 0) return replace(value);
  const [head, ...rest] = path;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  const next = setAt(copy[head!], rest, replace);
  if (next === REMOVE) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head!];
  } else copy[head!] = next;
  return copy;
}
const REMOVE = Symbol('remove');

/** One change to one place of valid props: most of them make the props invalid, some do not. */
function nearMiss(props: Json, pick: number, kind: number): { name: string; props: Json } {
  const paths = pathsOf(props);
  const path = paths[pick % paths.length]!;
  const value = getAt(props, path);
  const at = path.join('.') || '(props)';
  const change = (name: string, replace: (old: Json) => Json | typeof REMOVE) => ({ name: `${name} at ${at}`, props: setAt(props, path, replace) });
  if (typeof value === 'string') {
    const options = [
      () => change('one character short', (s) => [...(s as string)].slice(0, -1).join('')),
      () => change('one character too many', (s) => `${s as string}${'x'.repeat(Math.max(1, 101 - [...(s as string)].length))}`),
      () => change('a wrong enum value or pattern', (s) => `not-${s as string}`),
      () => change('white space only', () => ' \u00a0\t '),
      () => change('padded with white space', (s) => `\u3000 ${s as string} \ufeff`),
      () => change('a line break', (s) => `${s as string}\r\nBcc: x@evil.test`),
      () => change('a number instead', () => 42),
      () => change('null instead', () => null),
      () => change('removed', () => REMOVE),
      () => change('an emoji appended', (s) => `${s as string}🙂`),
    ];
    return options[kind % options.length]!();
  }
  if (typeof value === 'number') {
    const options = [
      () => change('a fraction', (n) => (n as number) + 0.5),
      () => change('below the minimum', (n) => -(n as number) - 1),
      () => change('above the maximum', (n) => (n as number) * 1000 + 10_001),
      () => change('a string instead', (n) => String(n)),
      () => change('removed', () => REMOVE),
    ];
    return options[kind % options.length]!();
  }
  if (Array.isArray(value)) {
    const options = [
      () => change('emptied', () => []),
      () => change('a bad item appended', (a) => [...(a as Json[]), 42]),
      () => change('an empty item first', (a) => [{}, ...(a as Json[])]),
      () => change('too many items', (a) => Array.from({ length: 51 }, (_, i) => (a as Json[])[i % Math.max(1, (a as Json[]).length)] ?? 'x')),
      () => change('too many items, one of them bad', (a) => Array.from({ length: 51 }, (_, i) => (i === 3 ? 42 : (a as Json[])[i % Math.max(1, (a as Json[]).length)] ?? 'x'))),
      () => change('one item too many, the first one bad', (a) => [42, ...(a as Json[]).slice(1), ...Array.from({ length: 50 }, () => (a as Json[])[0])]),
      () => change('an object instead', () => ({})),
      () => change('removed', () => REMOVE),
    ];
    return options[kind % options.length]!();
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    const options = [
      () => change('an extra key', (o) => ({ ...(o as object), unexpected: 'x' })),
      () => change(`without its key ${keys[0]}`, (o) => {
        const { [keys[0] ?? '']: _gone, ...rest } = o as Record<string, unknown>;
        return rest;
      }),
      () => change('every key null', (o) => Object.fromEntries(Object.keys(o as object).map((k) => [k, null]))),
      () => change('an array instead', () => []),
    ];
    return options[kind % options.length]!();
  }
  return change('a string instead', () => 'x');
}

// ---- the two paths -------------------------------------------------------------

type Outcome = { ok: true } | { ok: false; field: string };

async function viaTypeScript(t: Template, props: Json): Promise<Outcome & { id?: string }> {
  try {
    return { ok: true, id: await t.enqueue(pool, { template: t.name, to: 'ada@example.test', props }) };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { ok: false, field: error.field };
  }
}

async function viaSql(t: Template, props: Json): Promise<Outcome & { id?: string }> {
  try {
    const { rows } = await pool.query('select mailroom.enqueue($1, $2, $3::jsonb) as id', [t.name, 'ada@example.test', JSON.stringify(props)]);
    return { ok: true, id: rows[0].id };
  } catch (error) {
    const e = error as pg.DatabaseError;
    if (e.code !== '22023') throw error;
    expect(e.message).toMatch(/^mailroom\.enqueue: /);
    return { ok: false, field: e.detail!.replace(/^field=/, '') };
  }
}

const storedProps = async (id: string) => (await pool.query('select props from mailroom.outbox where id = $1', [id])).rows[0].props as unknown;
const rowCount = async () => (await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n as number;

const templateIndex = fc.nat({ max: templates.length - 1 });
const validProps = templateIndex.chain((i) => arbitraryFor(templates[i]!.schema).map((props) => ({ template: templates[i]!, props })));

describe('SQL and TypeScript agree on every template of both catalogues', () => {
  it('covers every template of the fixture catalogue and of the product', () => {
    expect(templates.map((t) => t.name)).toEqual(expect.arrayContaining(['account-confirm', 'weekly-digest', 'verify-email', 'digest', 'invitation-declined']));
    expect(templates).toHaveLength(Object.keys(fixtureConfig.templates).length + Object.keys(productConfig.templates).length);
  });

  it('props generated from the schema: zod accepts them, and both paths store them', async () => {
    await fc.assert(
      fc.asyncProperty(validProps, async ({ template, props }) => {
        expect(template.schema.safeParse(props).success).toBe(true);
        const before = await rowCount();
        const ts = await viaTypeScript(template, props);
        expect(ts.ok, JSON.stringify(props)).toBe(true);
        const sql = await viaSql(template, props);
        expect(sql.ok, `${template.name} ${JSON.stringify(props)}: ${JSON.stringify(sql)}`).toBe(true);
        expect(await rowCount()).toBe(before + 2);
        // Both store zod's output (names trimmed, unknown keys dropped), whatever the producer's language.
        expect(await storedProps(sql.id!), JSON.stringify(props)).toEqual(await storedProps(ts.id!));
        expect(await storedProps(sql.id!)).toEqual(JSON.parse(JSON.stringify(template.schema.parse(props))));
      }),
      runs,
    );
  });

  it('near misses: both accept, or both refuse naming the same field; a refusal writes nothing', async () => {
    let refused = 0;
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(validProps, fc.nat(), fc.nat(), async ({ template, props }, pick, kind) => {
        const miss = nearMiss(props, pick, kind);
        const before = await rowCount();
        const ts = await viaTypeScript(template, miss.props);
        const sql = await viaSql(template, miss.props);
        const { id: sqlId, ...sqlOutcome } = sql;
        const { id: tsId, ...tsOutcome } = ts;
        expect(sqlOutcome, `${template.name}, ${miss.name}: ${JSON.stringify(miss.props)}`).toEqual(tsOutcome);
        if (tsId && sqlId) expect(await storedProps(sqlId), `${template.name}, ${miss.name}`).toEqual(await storedProps(tsId));
        expect(await rowCount()).toBe(before + (ts.ok ? 2 : 0));
        if (!ts.ok) {
          refused++;
          seen.add(miss.name.replace(/ at .*/, ''));
        }
      }),
      { ...runs, numRuns: NUM_RUNS * 3 },
    );
    // The near misses are mostly refusals, of many kinds.
    expect(refused).toBeGreaterThan(NUM_RUNS);
    expect(seen.size).toBeGreaterThan(10);
  });
});
