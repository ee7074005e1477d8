// Headless Chromium for tests, driven by playwright-core (no browser download is
// possible on these machines). Which browser, in this order:
//   1. CHROMIUM_PATH, when set;
//   2. a system Chromium (Debian's chromium package, or Chrome);
//   3. the Chromium the @sparticuz/chromium dev dependency ships, so `npm ci && npm
//      test` needs nothing installed by hand. It is unpacked once (about 2 s) into
//      a cache folder of the temp folder, kept for later runs.
// MAILROOM_TEST_BROWSER=sparticuz skips 1 and 2: it proves the fallback on a
// machine that has a system Chromium (test/harness.browser-fallback.test.ts and,
// set by hand, the two *.in-chromium suites).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const SYSTEM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

// Without the background-networking flags Chromium keeps dialling out, and this
// machine's closed network refuses it loudly.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// @sparticuz/chromium's own flags (made for AWS Lambda), less those that would switch
// off what the admin tests rely on (the same-origin policy, the refusal of mixed
// content) and --single-process, with which the browser dies when a second page
// (a second context) opens.
const SPARTICUZ_FLAGS_LEFT_OUT = ['--disable-web-security', '--allow-running-insecure-content', '--single-process'];

export interface FoundBrowser {
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
  executablePath: string;
  args: string[];
  env?: Record<string, string>;
}

export interface FindOptions {
  env?: NodeJS.ProcessEnv;
  /** Where a system Chromium may be (default: Debian's and Chrome's paths). */
  systemPaths?: string[];
  /** Where @sparticuz/chromium is unpacked (default: a folder per version in the temp folder). */
  cacheDir?: string;
}

export async function findBrowser({ env = process.env, systemPaths = SYSTEM_PATHS, cacheDir }: FindOptions = {}): Promise<FoundBrowser> {
  if (env.MAILROOM_TEST_BROWSER !== 'sparticuz') {
    if (env.CHROMIUM_PATH) return { source: 'CHROMIUM_PATH', executablePath: env.CHROMIUM_PATH, args: FLAGS };
    const system = systemPaths.find((path) => existsSync(path));
    if (system) return { source: 'system', executablePath: system, args: FLAGS };
  }
  return packagedChromium(cacheDir);
}

export async function launchBrowser(found?: FoundBrowser): Promise<Browser> {
  const browser = found ?? (await findBrowser());
  return chromium.launch({
    executablePath: browser.executablePath,
    headless: true,
    args: browser.args,
    ...(browser.env ? { env: { ...process.env, ...browser.env } } : {}),
  });
}

const execFileAsync = promisify(execFile);

/**
 * @sparticuz/chromium unpacks into os.tmpdir() itself, writing the binary in place:
 * a run that starts while another is unpacking would launch half a file, and one
 * killed midway would leave it broken for good. So it unpacks in a child process
 * whose temp folder is a fresh one, renamed into place when complete (rename is
 * atomic; when another run got there first, its copy is used and ours dropped).
 */
async function packagedChromium(cacheDir?: string): Promise<FoundBrowser> {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve('@sparticuz/chromium'));
  } catch {
    throw new Error(
      `no Chromium found (CHROMIUM_PATH unset, none at ${SYSTEM_PATHS.join(', ')}) and the @sparticuz/chromium dev dependency is missing: run npm ci, or set CHROMIUM_PATH`,
    );
  }
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  const home = cacheDir ?? join(tmpdir(), `mailroom-test-chromium-${version}`);
  const executablePath = join(home, 'browser', 'chromium');
  if (!existsSync(executablePath)) {
    const prefix = `${basename(home)}-unpacking-`;
    await removeAbandoned(dirname(home), prefix);
    const staging = await mkdtemp(join(dirname(home), prefix));
    try {
      const unpack = `const { default: c } = await import(${JSON.stringify(entry)}); await c.executablePath();`;
      await execFileAsync(process.execPath, ['--input-type=module', '-e', unpack], { env: { ...process.env, TMPDIR: staging }, timeout: 120_000 });
      // Its fonts.conf names /tmp/fonts; ours names the unpacked fonts and the system's.
      await writeFile(
        join(staging, 'fonts.conf'),
        `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
          `  <dir>/usr/share/fonts</dir>\n  <dir>${join(home, 'browser', 'fonts', 'fonts')}</dir>\n` +
          `  <cachedir>${join(home, 'browser', 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
      );
      await mkdir(home, { recursive: true });
      await rename(staging, join(home, 'browser')).catch((error: NodeJS.ErrnoException) => {
        if (!(error.code === 'ENOTEMPTY' || error.code === 'EEXIST') || !existsSync(executablePath)) throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const { default: packaged } = (await import('@sparticuz/chromium')) as { default: { args: string[] } };
  const args = [...new Set([...FLAGS, ...packaged.args.filter((flag) => !SPARTICUZ_FLAGS_LEFT_OUT.includes(flag))])];
  return { source: '@sparticuz/chromium', executablePath, args, env: { FONTCONFIG_FILE: join(home, 'browser', 'fonts.conf') } };
}

/** Unpacking folders of runs killed midway (200 MB each), left for more than 10 minutes. */
async function removeAbandoned(folder: string, prefix: string): Promise<void> {
  for (const name of await readdir(folder).catch(() => [])) {
    if (!name.startsWith(prefix)) continue;
    const path = join(folder, name);
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > 10 * 60_000) await rm(path, { recursive: true, force: true });
  }
}
