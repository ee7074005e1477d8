// .env.example lists exactly the variables mailroom reads, each under a comment, and
// its values are ones loadConfig accepts as they are. The code's side: the keys of
// src/cli/env.ts's zod schema, MAILROOM_CONFIG, the reference app's settings
// (app/settings.ts), plus every `process.env.X` the runtime code (src/, emails/,
// app/, bin/) reads directly. The keys under `# --- docker-compose only ---` are
// read by docker-compose.yml, not by mailroom: they must be exactly the variables the
// compose file interpolates (and that mailroom does not read).
// test/ and bench/ read their own variables (TEST_DATABASE_URL, BENCH_*): not settings
// of mailroom, so not scanned.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appSettingsSchema } from '../app/settings.ts';
import { configSchema, loadConfig } from '../src/cli/env.ts';
import { CONFIG_VARIABLE } from '../src/cli/load-config.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const COMPOSE_SECTION = /^#\s*---\s*docker-compose only\s*---\s*$/i;

interface EnvExample {
  /** Variables mailroom reads, in file order, with their example values. */
  app: Map<string, string>;
  /** Variables only docker-compose.yml reads. */
  compose: Map<string, string>;
  /** Lines that break the format: not a comment, not blank, not KEY=value, a key without a comment above, a duplicate. */
  problems: string[];
}

function parseEnvExample(text: string): EnvExample {
  const result: EnvExample = { app: new Map(), compose: new Map(), problems: [] };
  let section = result.app;
  let commented = false; // the previous line is a comment or a key of the same group
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}`;
    if (COMPOSE_SECTION.test(line)) {
      section = result.compose;
      commented = true;
      continue;
    }
    if (line.trim() === '') {
      commented = false;
      continue;
    }
    if (line.startsWith('#')) {
      commented = true;
      continue;
    }
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) {
      result.problems.push(`${where} is not KEY=value: ${JSON.stringify(line)}`);
      continue;
    }
    const [, key, value] = match as unknown as [string, string, string];
    if (result.app.has(key) || result.compose.has(key)) result.problems.push(`${where}: ${key} is listed twice`);
    if (!commented) result.problems.push(`${where}: ${key} has no comment above it`);
    section.set(key, value);
  }
  return result;
}

function runtimeFiles(dir: string): string[] {
  return (readdirSync(join(root, dir), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile() && /\.(ts|tsx|js|mjs)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length));
}

/** Variables read as `process.env.X`, `process.env['X']` or `const { X } = process.env`; and reads it cannot name. */
function processEnvReads(source: string): { names: string[]; unnamed: string[] } {
  const names = new Set<string>();
  const unnamed: string[] = [];
  for (const m of source.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  for (const m of source.matchAll(/process\.env\[\s*(['"`])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]/g)) names.add(m[2]!);
  for (const m of source.matchAll(/process\.env\[(?!\s*(['"`])[A-Za-z_][A-Za-z0-9_]*\1\s*\])([^\]]*)\]/g)) unnamed.push(`process.env[${m[2]}]`);
  for (const m of source.matchAll(/\{([^}]*)\}\s*=\s*process\.env\b/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.split(':')[0]!.split('=')[0]!.trim();
      if (name.startsWith('...')) unnamed.push(`{ ${m[1]!.trim()} } = process.env`);
      else if (name) names.add(name);
    }
  }
  return { names: [...names], unnamed };
}

/** The variables docker-compose.yml interpolates: ${X}, ${X:-default}, ${X:?message} (not $${X}, an escape). */
function composeInterpolations(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return [...names];
}

/** A message naming the keys each side lacks, or '' when both list the same keys. */
function compareKeys(what: { left: string; right: string }, left: Iterable<string>, right: Iterable<string>): string {
  const l = new Set(left);
  const r = new Set(right);
  const onlyLeft = [...l].filter((k) => !r.has(k)).sort();
  const onlyRight = [...r].filter((k) => !l.has(k)).sort();
  const lines: string[] = [];
  if (onlyLeft.length) lines.push(`${what.left} but not ${what.right}: ${onlyLeft.join(', ')}`);
  if (onlyRight.length) lines.push(`${what.right} but not ${what.left}: ${onlyRight.join(', ')}`);
  return lines.join('\n');
}

const example = parseEnvExample(read('.env.example'));
// mailroom's own schema, the variable naming the config file, and the reference app's settings.
const schemaKeys = [...Object.keys(configSchema.shape), CONFIG_VARIABLE, ...Object.keys(appSettingsSchema.shape)];
const scanned = ['src', 'emails', 'app', 'bin'].flatMap(runtimeFiles);
const reads = scanned.map((file) => ({ file, ...processEnvReads(read(file)) }));
const codeKeys = new Set([...schemaKeys, ...reads.flatMap((r) => r.names)]);

describe('.env.example', () => {
  it('is one KEY=value per line, each under a comment, none twice', () => {
    expect(example.problems).toEqual([]);
    expect(example.app.size).toBeGreaterThan(0);
  });

  it('lists exactly the variables the code reads (the config schema and every process.env read)', () => {
    expect(scanned.length).toBeGreaterThan(10);
    expect(reads.flatMap((r) => r.unnamed.map((u) => `${r.file}: ${u}`)), 'process.env reads whose name cannot be checked').toEqual([]);
    expect(compareKeys({ left: 'read by the code', right: 'listed in .env.example' }, codeKeys, example.app.keys())).toBe('');
  });

  it('lists under "docker-compose only" exactly the variables docker-compose.yml interpolates that mailroom does not read', () => {
    const interpolated = composeInterpolations(read('docker-compose.yml'));
    const composeOnly = interpolated.filter((k) => !codeKeys.has(k));
    expect(compareKeys({ left: 'interpolated by docker-compose.yml', right: 'in the docker-compose section' }, composeOnly, example.compose.keys())).toBe('');
    // And anything compose interpolates that mailroom reads is in the main section.
    expect(interpolated.filter((k) => codeKeys.has(k) && !example.app.has(k))).toEqual([]);
    // A key in the compose section that mailroom reads belongs in the main section.
    expect([...example.compose.keys()].filter((k) => codeKeys.has(k))).toEqual([]);
  });

  it("is accepted by loadConfig as it is, empty meaning unset", () => {
    const env = Object.fromEntries([...example.app, ...example.compose]);
    const config = loadConfig(env) as Record<string, unknown>;
    // Empty values are unset: no default, or the schema's default.
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.LOG_PRETTY).toBeUndefined();
    // The values given are the defaults, so the file documents what an unset variable means.
    const defaults = loadConfig({}) as Record<string, unknown>;
    const differing = [...example.app]
      .filter(([key, value]) => value !== '' && key in defaults && String(defaults[key]) !== value)
      .map(([key, value]) => `${key}=${value} (default ${String(defaults[key])})`);
    expect(differing).toEqual([]);
  });
});

describe('the parity check itself', () => {
  it('names the keys each side lacks', () => {
    expect(compareKeys({ left: 'code', right: 'file' }, ['A', 'B', 'C'], ['B', 'C', 'D'])).toBe('code but not file: A\nfile but not code: D');
    expect(compareKeys({ left: 'code', right: 'file' }, ['A'], ['A'])).toBe('');
  });

  it('finds process.env reads in every form, and flags reads it cannot name', () => {
    const source = `
      const a = process.env.ALPHA;
      const b = process.env['BETA'] ?? process.env["GAMMA"];
      const { DELTA, EPSILON: e = '1' } = process.env;
      const c = process.env[name];`;
    const found = processEnvReads(source);
    expect(found.names.sort()).toEqual(['ALPHA', 'BETA', 'DELTA', 'EPSILON', 'GAMMA']);
    expect(found.unnamed).toEqual(['process.env[name]']);
  });

  it('splits the sections, and flags a key without a comment or a stray line', () => {
    const parsed = parseEnvExample('# a\nA=1\nB=2\n\nC=3\nnot a line\n# --- docker-compose only ---\nD=4\n');
    expect([...parsed.app.keys()]).toEqual(['A', 'B', 'C']);
    expect([...parsed.compose.keys()]).toEqual(['D']);
    expect(parsed.problems).toEqual(['line 5: C has no comment above it', 'line 6 is not KEY=value: "not a line"']);
  });

  it('reads interpolations but not $$ escapes', () => {
    expect(composeInterpolations('a: ${ONE:-x}\nb: "$${NOT}"\nc: ${TWO:?set it}\nd: $THREE').sort()).toEqual(['ONE', 'THREE', 'TWO']);
  });
});
