// `mailroom migrate` refuses a template whose props schema the SQL side cannot check
// as zod does (issue 13): a .refine(), a .transform(), a lookbehind, a URL format...
// with a message naming the template, the prop and the keyword, and writes no
// template of that catalogue. z.toJSONSchema() alone would not notice: it emits a
// plain {"type": "string"} for a refined or transformed string.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createMailroom, defineConfig, defineTemplate, ValidationError } from '../src/index.ts';
import { migrate } from '../src/migrate.ts';
import { sqlPropsSchema, translatePattern } from '../src/templates/sql-schema.ts';
import { dropDatabase, withPg } from './support/database.ts';

let databaseName: string;
let databaseUrl: string;

beforeAll(async () => {
  // An empty database: nothing of mailroom's yet.
  databaseName = `mailroom_unexpressible_${process.pid}`;
  const adminUrl = inject('adminDatabaseUrl');
  await withPg(adminUrl, async (admin) => {
    await dropDatabase(admin, databaseName).catch(() => {});
    await admin.query(`create database ${databaseName}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${databaseName}`;
  databaseUrl = url.toString();
}, 60_000);

afterAll(async () => {
  if (databaseName) await withPg(inject('adminDatabaseUrl'), (admin) => dropDatabase(admin, databaseName)).catch(() => {});
});

const template = (schema: z.ZodObject, previewProps: Record<string, unknown>) =>
  defineTemplate({ schema, subject: () => 'Hello', component: () => null, previewProps: previewProps as never });

/** A catalogue of one good template and one that SQL cannot check (its preview props: what zod accepts). */
const catalogueWith = (schema: z.ZodObject, preview: Record<string, unknown> = previewOf(schema)) =>
  defineConfig({ templates: { 'a-good-one': template(z.object({ token: z.string().min(16) }), { token: 'x'.repeat(16) }), unexpressible: template(schema, preview) } });

const samples: unknown[] = ['b', 'ab', 'aa', 'abc', 'x', 'https://example.test/', 1, [], [{ a: 1 }], { code: 'ab' }, undefined];
/** Some props the schema accepts, one key at a time from a few samples. */
function previewOf(schema: z.ZodObject): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const value = samples.find((v) => (field as z.ZodType).safeParse(v).success);
    if (value !== undefined) props[key] = value;
  }
  return props;
}

const cases: [string, z.ZodObject, RegExp][] = [
  ['a .refine()', z.object({ code: z.string().refine((s) => s !== 'x') }), /template "unexpressible": props\.code uses "refine"/],
  ['a .transform()', z.object({ code: z.string().transform((s) => s.length) }), /template "unexpressible": props\.code uses "transform"/],
  ['a lookbehind', z.object({ code: z.string().regex(/(?<=a)b/) }), /template "unexpressible": props\.code uses "pattern" with a lookbehind, which the SQL check cannot express/],
  ['a backreference', z.object({ code: z.string().regex(/^(a)\1$/) }), /props\.code uses "pattern" with a backreference/],
  ['a flag', z.object({ code: z.string().regex(/^abc$/i) }), /props\.code uses "pattern" with the flags \/i/],
  ['a Unicode property', z.object({ nested: z.object({ code: z.string().regex(/^\p{L}+$/u) }) }), /props\.nested\.code uses "pattern" with the flags \/u/],
  ['a URL format', z.object({ link: z.url() }), /props\.link uses "format" "url"/],
  ['a refined object in an array', z.object({ list: z.array(z.object({ a: z.number() }).refine(() => true)) }), /props\.list\[\] uses "refine"/],
  ['a .default()', z.object({ n: z.number().default(1) }), /props\.n uses "default"/],
  ['a union', z.object({ n: z.union([z.string(), z.number()]) }), /props\.n uses "union"/],
  ['a .toLowerCase()', z.object({ s: z.string().toLowerCase() }), /props\.s uses "overwrite"/],
];

describe('migrate() refuses what the SQL check cannot express', () => {
  for (const [what, schema, message] of cases) {
    it(`${what}: refused with the template, the prop and the keyword`, async () => {
      const error = await migrate({ databaseUrl, config: catalogueWith(schema) }).then(() => undefined, (e: unknown) => e as Error);
      expect(error?.message).toMatch(message);
      // Nothing of that catalogue was written, not even its good template.
      const rows = await withPg(databaseUrl, async (c) => (await c.query('select name from mailroom.template')).rows);
      expect(rows).toEqual([]);
    });
  }

  it('accepts the same catalogue once the schema says only what SQL can check', async () => {
    const config = catalogueWith(
      z.object({ code: z.string().regex(/^(?:[a-z]{2}|x)\d{0,300}$/).trim().max(400), n: z.int().min(0).nullable(), meta: z.strictObject({ a: z.literal(['on', 'off']) }).optional() }),
      { code: 'x', n: 1 },
    );
    await migrate({ databaseUrl, config });
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const { rows } = await pool.query(`select name from mailroom.template order by name`);
      expect(rows.map((r) => r.name)).toEqual(['a-good-one', 'unexpressible']);
      const enqueue = (props: unknown) =>
        pool.query('select mailroom.enqueue($1, $2, $3::jsonb)', ['unexpressible', 'a@example.test', JSON.stringify(props)]).then(() => 'ok', (e: pg.DatabaseError) => e.detail);
      expect(await enqueue({ code: `ab${'7'.repeat(300)}`, n: null })).toBe('ok');
      expect(await enqueue({ code: `ab${'7'.repeat(301)}`, n: 1 })).toBe('field=props.code');
      expect(await enqueue({ code: 'x', n: 1.5 })).toBe('field=props.n');
      expect(await enqueue({ code: 'x', n: -1 })).toBe('field=props.n');
      expect(await enqueue({ code: 'x' })).toBe('field=props.n');
      // A strict object refuses an unknown key, named at the object, as zod names it; its own keys come first.
      const ts = (props: unknown) =>
        createMailroom(config).enqueue(pool, { template: 'unexpressible', to: 'a@example.test', props: props as never }).then(() => 'ok', (e: ValidationError) => `field=${e.field}`);
      for (const props of [{ code: 'x', n: 1, meta: { a: 'on', b: 1 } }, { code: 'x', n: 1, meta: { a: 'maybe', b: 1 } }, { code: 'x', n: 1, meta: { a: 'off' } }]) {
        expect(await enqueue(props), JSON.stringify(props)).toBe(await ts(props));
      }
      expect(await enqueue({ code: 'x', n: 1, meta: { a: 'on', b: 1 } })).toBe('field=props.meta');
      expect(await enqueue({ code: 'x', n: 1, meta: { a: 'maybe', b: 1 } })).toBe('field=props.meta.a');
    } finally {
      await pool.end();
    }
  }, 60_000);
});

describe('the pattern subset', () => {
  it('translates to explicit classes (no locale in PostgreSQL) and splits bounds over 255', () => {
    expect(translatePattern('^\\d\\w\\s.$')).toMatch(/^\^\[0-9\]\[0-9A-Z\\u005fa-z\]\[/);
    expect(translatePattern('^a{300}$')).toBe('^(?:a){255}(?:a){45}$');
  });

  it('refuses a class that treats surrogate halves and U+E000 differently', () => {
    expect(() => sqlPropsSchema('t', z.object({ s: z.string().regex(/^[\ud800-\udbff]$/) }))).toThrow(/props\.s uses "pattern" with a class that treats surrogates/);
    expect(() => sqlPropsSchema('t', z.object({ s: z.string().regex(/^[\u0100-\uffff]+$/) }))).not.toThrow();
  });
});
