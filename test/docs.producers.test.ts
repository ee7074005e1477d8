// Code in the docs is run by a test: docs/producers.md's examples (SQL, psql, Python
// with psycopg2 and Django, Ruby with pg and ActiveRecord, Go with pgx), read from
// the page verbatim (the block after each `<!-- example: name -->`) and run, each in
// its own language, against a new database cloned from the run's migrated template.
// Each example stores a verification token and enqueues its email in one
// transaction, then meets a refusal: the test checks the email row (the token by its
// hash, the idempotency key, not_after), the field the example read from the
// refusal's DETAIL, and that the refusal left neither token nor email.
//
// A language whose runtime or driver is not installed is skipped, the title saying
// what is missing; .ci/run installs them (Debian packages) so CI runs them all.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/database.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOC = 'docs/producers.md';
const page = readFileSync(join(root, DOC), 'utf8');
const examplesDir = join(root, 'test/.examples/producers');
const HARNESS = join(root, 'test/fixtures/producers/django_harness.py');

/** Every `<!-- example: name -->` (or `output:`) block of the page: its fence language and its text, verbatim. */
function blocks(kind: 'example' | 'output'): Map<string, { lang: string; code: string }> {
  const found = new Map<string, { lang: string; code: string }>();
  for (const match of page.matchAll(new RegExp(`<!-- ${kind}: ([a-z0-9-]+) -->\\s*\`\`\`([a-z]*)\\n([\\s\\S]*?)\`\`\``, 'g'))) {
    if (found.has(match[1]!)) throw new Error(`${DOC} has two ${kind}s named "${match[1]}"`);
    found.set(match[1]!, { lang: match[2]!, code: match[3]! });
  }
  return found;
}
const examples = blocks('example');
const outputs = blocks('output');
function example(name: string, lang: string): string {
  const block = examples.get(name);
  if (!block) throw new Error(`${DOC} has no example "${name}"`);
  if (block.lang !== lang) throw new Error(`${DOC}: example "${name}" is \`\`\`${block.lang}, expected \`\`\`${lang}`);
  return block.code;
}

// What can run here. Probed once, synchronously, so the titles can say it.
const answers = (command: string, args: string[]) => {
  try {
    return spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 }).status === 0;
  } catch {
    return false;
  }
};
/** A python3 that imports `modules`: the first on PATH may be a pyenv one without Debian's packages. */
const pythonWith = (modules: string) => ['python3', '/usr/bin/python3'].find((python) => answers(python, ['-c', `import ${modules}`]));
const psql = answers('psql', ['--version']);
const pythonPsycopg2 = pythonWith('psycopg2');
const pythonDjango = pythonWith('psycopg2, django');
const rubyPg = answers('ruby', ['-e', 'require "pg"']);
const rubyActiveRecord = answers('ruby', ['-e', 'require "pg"; require "active_record"']);
/** GOPATH-mode builds against Debian's Go sources (no module proxy here): pgx v5 if some GOPATH has it, else Debian 12's v4. */
const go = (() => {
  if (!answers('go', ['version'])) return undefined;
  const gopath = [...(process.env.GOPATH ?? '').split(':').filter(Boolean), '/usr/share/gocode'].join(':');
  const has = (path: string) => gopath.split(':').some((dir) => existsSync(join(dir, 'src', path)));
  if (has('github.com/jackc/pgx/v5/pgconn')) return { gopath, pgx: 'v5' as const };
  if (has('github.com/jackc/pgx/v4') && has('github.com/jackc/pgconn')) return { gopath, pgx: 'v4' as const };
  return undefined;
})();
/** A test's title, saying what to install when it is skipped. */
const title = (what: string, available: unknown, missing: string) =>
  available ? what : `${what} (skipped: ${missing} is not installed; apt-get install it, as .ci/run does)`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to its end; never throws on a non-zero exit (the caller asserts). */
function run(command: string, args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? examplesDir,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The statements of a SQL block, one by one (the blocks hold no `;` inside a literal). */
function statements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:--[^\n]*)?(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

/** A new migrated database with the page's `schema` block applied, for one example. */
async function withDatabase(work: (url: string, pool: pg.Pool) => Promise<void>): Promise<void> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    await pool.query(example('schema', 'sql'));
    await work(database.url, pool);
  } finally {
    await pool.end();
    await database.drop();
  }
}

async function writeExample(file: string, code: string): Promise<string> {
  await mkdir(examplesDir, { recursive: true });
  const path = join(examplesDir, file);
  await writeFile(path, code);
  return path;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * What every worked example must leave: one pending account-confirm row per address
 * in `recipients`, each with a token row of its own (joined by the idempotency key
 * `verify:<token id>`, the token's sha256 stored, not_after the token's expiry), and
 * nothing else: the refusals wrote neither token nor email.
 */
async function expectVerifications(pool: pg.Pool, recipients: string[], names: Record<string, string>): Promise<void> {
  const { rows } = await pool.query(`
    select o.id, o.template, o.recipient, o.props, o.status, o.idempotency_key, o.not_after, o.priority,
           t.id as token_id, t.email as token_email, t.token_hash, t.expires_at
      from mailroom.outbox o full join verification_token t on o.idempotency_key = 'verify:' || t.id
     order by o.recipient`);
  expect(rows.map((r) => r.recipient)).toEqual([...recipients].sort());
  for (const row of rows) {
    expect(row.token_id, `the token row of ${row.recipient}`).not.toBeNull();
    expect(row.template).toBe('account-confirm');
    expect(row.status).toBe('pending');
    expect(row.token_email).toBe(row.recipient);
    expect(row.props.token).toMatch(/^[A-Za-z0-9_-]{16,256}$/);
    expect(sha256(row.props.token), 'the token in the email is the one whose hash the app stored').toBe(row.token_hash);
    expect(row.props.name).toBe(names[row.recipient]);
    expect((row.not_after as Date).getTime(), 'not_after is the token expiry').toBe((row.expires_at as Date).getTime());
    expect(row.priority, "the template's priority").toBe(20);
  }
}

const enqueuedId = (stdout: string) => {
  const match = /^enqueued ([0-9a-f-]{36})$/m.exec(stdout);
  expect(match, `"enqueued <uuid>" in the output:\n${stdout}`).not.toBeNull();
  return match![1]!;
};
const refusedLine = (stdout: string) => /^refused (.*)$/m.exec(stdout)?.[1];

async function expectRowId(pool: pg.Pool, id: string, recipient: string) {
  const { rows } = await pool.query('select recipient from mailroom.outbox where id = $1', [id]);
  expect(rows, 'the printed id is the row written').toEqual([{ recipient }]);
}

describe(`${DOC}`, () => {
  it('has the examples this test runs, each in its language', () => {
    expect([...examples.keys()].sort()).toEqual(
      ['activerecord', 'contract', 'django', 'go', 'grants', 'plpgsql', 'psql', 'psycopg2', 'ruby-pg', 'savepoint', 'schema'].sort(),
    );
    expect(outputs.has('psql-refused')).toBe(true);
  });

  // The error table names, per driver, how to read the SQLSTATE and the field: each
  // of those expressions is in that driver's row and in its example, which runs.
  const TABLE: Record<string, { row: string; example: string; expressions: string[] }> = {
    psql: { row: 'psql', example: 'psql', expressions: ['ON_ERROR_STOP'] },
    psycopg2: { row: 'Python psycopg2', example: 'psycopg2', expressions: ['psycopg2.errors.InvalidParameterValue', 'e.pgcode', 'e.diag.message_detail'] },
    django: { row: 'Django', example: 'django', expressions: ['DataError', 'e.__cause__.diag.sqlstate', 'e.__cause__.diag.message_detail'] },
    'ruby-pg': {
      row: 'Ruby pg',
      example: 'ruby-pg',
      expressions: ['PG::InvalidParameterValue', 'e.result.error_field(PG::Result::PG_DIAG_SQLSTATE)', 'e.result.error_field(PG::Result::PG_DIAG_MESSAGE_DETAIL)'],
    },
    activerecord: {
      row: 'ActiveRecord',
      example: 'activerecord',
      expressions: [
        'ActiveRecord::StatementInvalid',
        'e.cause.result.error_field(PG::Result::PG_DIAG_SQLSTATE)',
        'e.cause.result.error_field(PG::Result::PG_DIAG_MESSAGE_DETAIL)',
      ],
    },
    go: { row: 'Go pgx', example: 'go', expressions: ['*pgconn.PgError', 'errors.As(err, &pgErr)', 'pgErr.Code', 'pgErr.Detail'] },
  };
  it("the error table's expressions are the ones the examples use", () => {
    for (const { row, example: name, expressions } of Object.values(TABLE)) {
      const line = page.split('\n').find((l) => l.startsWith(`| ${row} |`));
      expect(line, `a row "| ${row} |" in the error table`).toBeDefined();
      const code = examples.get(name)?.code ?? '';
      for (const expression of expressions) {
        expect(line, `the ${row} row shows ${expression}`).toContain(expression);
        expect(code, `the ${name} example uses ${expression}`).toContain(expression);
      }
    }
  });
});

describe('the SQL blocks (node-postgres)', () => {
  it('contract: what each call returns and writes is what its comment says', async () => {
    await withDatabase(async (_url, pool) => {
      const client = await pool.connect();
      const results: pg.QueryResult[] = [];
      try {
        for (const statement of statements(example('contract', 'sql'))) results.push(await client.query(statement));
      } finally {
        client.release();
      }
      expect(results).toHaveLength(5);
      const [plain, named, again, many, suppressed] = results.map((r) => r.rows[0]);
      const row = async (id: string) => (await pool.query('select * from mailroom.outbox where id = $1', [id])).rows[0];

      const ada = await row(plain.id);
      expect(ada).toMatchObject({ template: 'account-confirm', recipient: 'ada@example.com', status: 'pending', priority: 20, idempotency_key: null });
      expect(ada.send_after.getTime(), 'send_after defaults to now()').toBe(ada.created_at.getTime());
      expect(ada.not_after.getTime() - ada.created_at.getTime(), "not_after: the template's ttl (2 days)").toBe(2 * 86_400_000);

      const grace = await row(named.id);
      expect(grace).toMatchObject({
        recipient: 'grace@example.com',
        idempotency_key: 'contract:grace',
        priority: 50,
        locale: 'fr',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        props: { token: 'contract-token-abcdefghij', name: 'Grace' },
      });
      expect(grace.send_after.getTime() - grace.created_at.getTime()).toBe(10 * 60_000);
      expect(grace.not_after.getTime() - grace.created_at.getTime()).toBe(86_400_000);

      expect(again.id, 'the same key returns the first id').toBe(named.id);
      expect((await pool.query(`select 1 from mailroom.outbox where recipient = 'someone-else@example.com'`)).rowCount).toBe(0);

      expect(many.ids).toHaveLength(2);
      const alan = await row(many.ids[0]);
      const edsger = await row(many.ids[1]);
      expect(alan).toMatchObject({ recipient: 'alan@example.com', priority: 20 });
      expect(edsger).toMatchObject({ recipient: 'edsger@example.com', priority: -5 });
      expect(edsger.send_after.toISOString()).toBe('2030-01-01T09:00:00.000Z');

      expect(suppressed.suppressed).toBe(false);
      expect((await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n).toBe(4);
    });
  });

  it('savepoint: the refusal is the error its comment shows, and the token row commits without an email', async () => {
    await withDatabase(async (_url, pool) => {
      const sql = example('savepoint', 'sql');
      const shown = /-- (ERROR: .*)\n-- (DETAIL: .*)/.exec(sql);
      expect(shown, 'the block shows the error as comments').not.toBeNull();
      const client = await pool.connect();
      const errors: string[] = [];
      try {
        for (const statement of statements(sql)) {
          try {
            await client.query(statement);
          } catch (error) {
            const e = error as pg.DatabaseError;
            expect(e.code).toBe('22023');
            errors.push(`ERROR:  ${e.message}`, `DETAIL:  ${e.detail}`);
          }
        }
      } finally {
        client.release();
      }
      expect(errors).toEqual([shown![1], shown![2]]);
      expect((await pool.query('select count(*)::int as n from verification_token')).rows[0].n).toBe(1);
      expect((await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n).toBe(0);
    });
  });

  it('plpgsql: the exception block reads the field, and the token row stays without an email', async () => {
    await withDatabase(async (_url, pool) => {
      const sql = example('plpgsql', 'sql');
      const shown = /raise notice .*-- (.*)\n/.exec(sql)?.[1];
      expect(shown, 'the block shows its notice as a comment').toBeDefined();
      const client = await pool.connect();
      const notices: string[] = [];
      client.on('notice', (notice) => notices.push(notice.message ?? ''));
      try {
        await client.query(sql); // one statement: a DO block
      } finally {
        client.removeAllListeners('notice');
        client.release();
      }
      expect(notices).toEqual([shown]);
      expect((await pool.query('select count(*)::int as n from verification_token')).rows[0].n).toBe(1);
      expect((await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n).toBe(0);
    });
  });

  it('grants: a role with only those grants can enqueue (twice the same key), fan out and ask about suppression', async () => {
    await withDatabase(async (_url, pool) => {
      // A role is cluster-wide: a name of this run's own, and a transaction rolled back.
      const role = `mailroom_docs_producer_${randomBytes(4).toString('hex')}`;
      const sql = example('grants', 'sql');
      expect(sql).toContain('app_producer');
      const client = await pool.connect();
      try {
        await client.query('begin');
        for (const statement of statements(sql.replaceAll('app_producer', role))) await client.query(statement);
        await client.query(`set local role ${role}`);
        const enqueue = `select mailroom.enqueue('account-confirm', 'ada@example.com', '{"token": "grants-token-0123456789"}', idempotency_key => 'grants:1') as id`;
        const first = (await client.query(enqueue)).rows[0].id;
        expect((await client.query(enqueue)).rows[0].id).toBe(first);
        const many = await client.query(`select mailroom.enqueue_many('[{"template": "account-confirm", "to": "alan@example.com", "props": {"token": "grants-token-abcdefghij"}}]') as ids`);
        expect(many.rows[0].ids).toHaveLength(1);
        expect((await client.query(`select mailroom.is_suppressed('ada@example.com') as s`)).rows[0].s).toBe(false);
        // Only those: the role cannot read the props (tokens) of the outbox.
        await expect(client.query('select props from mailroom.outbox')).rejects.toMatchObject({ code: '42501' });
      } finally {
        await client.query('rollback').catch(() => {});
        client.release();
      }
      expect((await pool.query('select 1 from pg_roles where rolname = $1', [role])).rowCount, 'the role went with the rollback').toBe(0);
    });
  });
});

describe('the worked examples, each in its own language', () => {
  it.skipIf(!psql)(title('psql: the shell script enqueues, and a malformed address exits 3 naming field=to', psql, 'psql (postgresql-client)'), async () => {
    const script = await writeExample('verify.sh', example('psql', 'sh'));
    await withDatabase(async (url, pool) => {
      const ok = await run('sh', [script, 'ada@example.com', 'Ada'], { env: { DATABASE_URL: url } });
      expect(ok.code, ok.stderr).toBe(0);
      await expectRowId(pool, enqueuedId(ok.stdout), 'ada@example.com');

      const refused = await run('sh', [script, 'ada@example', 'Ada'], { env: { DATABASE_URL: url } });
      expect(refused.code, 'psql exits 3 when ON_ERROR_STOP stops it').toBe(3);
      const stderr = refused.stderr.replace(/^psql:[^:]*:\d+: /gm, '');
      for (const line of outputs.get('psql-refused')!.code.trim().split('\n')) expect(stderr).toContain(line);
      await expectVerifications(pool, ['ada@example.com'], { 'ada@example.com': 'Ada' });
    });
  });

  it.skipIf(!pythonPsycopg2)(title('Python psycopg2: enqueues in `with conn:`, and reads field=props.name from a refusal', pythonPsycopg2, 'python3-psycopg2'), async () => {
    const program = await writeExample('verify.py', example('psycopg2', 'python'));
    await withDatabase(async (url, pool) => {
      const result = await run(pythonPsycopg2!, [program], { env: { DATABASE_URL: url } });
      expect(result.code, result.stderr).toBe(0);
      await expectRowId(pool, enqueuedId(result.stdout), 'ada@example.com');
      expect(refusedLine(result.stdout)).toBe('props.name 22023 mailroom.enqueue: prop "name" goes into a header and contains a line break');
      await expectVerifications(pool, ['ada@example.com'], { 'ada@example.com': 'Ada' });
    });
  });

  it.skipIf(!pythonDjango)(title('Django: enqueues in transaction.atomic(), reads field=to, and keeps the good ones behind savepoints', pythonDjango, 'python3-django (with python3-psycopg2)'), async () => {
    await writeExample('producer_emails.py', example('django', 'python'));
    await withDatabase(async (url, pool) => {
      const result = await run(pythonDjango!, [HARNESS, examplesDir], { env: { DATABASE_URL: url } });
      expect(result.code, result.stderr).toBe(0);
      await expectRowId(pool, enqueuedId(result.stdout), 'ada@example.com');
      expect(refusedLine(result.stdout)).toBe('to');
      expect(/^refused-some (.*)$/m.exec(result.stdout)?.[1]).toBe('{"not an address": "to"}');
      await expectVerifications(pool, ['ada@example.com', 'alan@example.com', 'edsger@example.com'], {
        'ada@example.com': 'Ada',
        'alan@example.com': 'Alan',
        'edsger@example.com': 'Edsger',
      });
    });
  });

  it.skipIf(!rubyPg)(title('Ruby pg: enqueues in conn.transaction, and reads field=to from a refusal', rubyPg, 'ruby-pg'), async () => {
    const program = await writeExample('verify.rb', example('ruby-pg', 'ruby'));
    await withDatabase(async (url, pool) => {
      const result = await run('ruby', [program], { env: { DATABASE_URL: url } });
      expect(result.code, result.stderr).toBe(0);
      await expectRowId(pool, enqueuedId(result.stdout), 'ada@example.com');
      expect(refusedLine(result.stdout)).toBe('to 22023');
      await expectVerifications(pool, ['ada@example.com'], { 'ada@example.com': 'Ada' });
    });
  });

  it.skipIf(!rubyActiveRecord)(
    title('Ruby ActiveRecord: enqueues in ActiveRecord::Base.transaction with binds, and reads field=props.name', rubyActiveRecord, 'ruby-activerecord (with ruby-pg)'),
    async () => {
      const program = await writeExample('verify_ar.rb', example('activerecord', 'ruby'));
      await withDatabase(async (url, pool) => {
        const result = await run('ruby', [program], { env: { DATABASE_URL: url } });
        expect(result.code, result.stderr).toBe(0);
        await expectRowId(pool, enqueuedId(result.stdout), 'ada@example.com');
        expect(refusedLine(result.stdout)).toBe('props.name 22023');
        await expectVerifications(pool, ['ada@example.com'], { 'ada@example.com': 'Ada' });
      });
    },
  );

  it.skipIf(!go)(
    title(
      `Go pgx: builds offline, enqueues in conn.Begin/tx.Commit, and reads field=to from a *pgconn.PgError${
        go ? ` (pgx ${go.pgx}${go.pgx === 'v4' ? ", the doc's v5 import paths changed to v4's" : ''})` : ''
      }`,
      go,
      'go with pgx (golang-go, golang-github-jackc-pgx-v4-dev)',
    ),
    async () => {
      let source = example('go', 'go');
      if (go!.pgx === 'v4') {
        // Debian 12 has pgx v4 only; the code this example uses is the same in v4 and v5.
        for (const [v5, v4] of [
          ['"github.com/jackc/pgx/v5/pgconn"', '"github.com/jackc/pgconn"'],
          ['"github.com/jackc/pgx/v5"', '"github.com/jackc/pgx/v4"'],
        ] as const) {
          expect(source.split(v5), `the import ${v5}, once`).toHaveLength(2);
          source = source.replace(v5, v4);
        }
      }
      const dir = join(examplesDir, 'go');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'verify.go'), source);
      const env = {
        GO111MODULE: 'off',
        GOPATH: go!.gopath,
        GOFLAGS: '',
        GOPROXY: 'off',
        GOTOOLCHAIN: 'local',
        CGO_ENABLED: '0',
        GOCACHE: join(tmpdir(), 'mailroom-docs-go-build-cache'),
      };
      const build = await run('go', ['build', '-o', 'verify', 'verify.go'], { cwd: dir, env, timeoutMs: 150_000 });
      expect(build.code, `go build:\n${build.stderr}`).toBe(0);
      const vet = await run('go', ['vet', 'verify.go'], { cwd: dir, env, timeoutMs: 150_000 });
      expect(vet.code, `go vet:\n${vet.stderr}`).toBe(0);
      await withDatabase(async (url, pool) => {
        const result = await run(join(dir, 'verify'), [], { cwd: dir, env: { DATABASE_URL: url } });
        expect(result.code, result.stderr).toBe(0);
        await expectRowId(pool, enqueuedId(result.stdout), 'ada@example.com');
        expect(refusedLine(result.stdout)).toBe('to');
        await expectVerifications(pool, ['ada@example.com'], { 'ada@example.com': 'Ada' });
      });
    },
    240_000,
  );
});
