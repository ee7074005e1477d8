// The browser tests need no Chromium installed by hand: the lookup takes
// CHROMIUM_PATH, else a system Chromium, else the one the @sparticuz/chromium dev
// dependency ships, unpacked once into a cache folder (two runs unpacking at the same
// moment end with one good copy). Here the system is hidden from the lookup, and
// the packaged browser renders a page.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBrowser, launchBrowser } from './support/browser.ts';

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

describe('finding a browser', () => {
  it('takes CHROMIUM_PATH first, then a system Chromium', async () => {
    expect(await findBrowser({ env: { CHROMIUM_PATH: '/opt/my/chromium' }, systemPaths: [process.execPath] })).toMatchObject({
      source: 'CHROMIUM_PATH',
      executablePath: '/opt/my/chromium',
    });
    expect(await findBrowser({ env: {}, systemPaths: ['/nonexistent/chromium', process.execPath] })).toMatchObject({
      source: 'system',
      executablePath: process.execPath,
    });
  });

  it('without either, unpacks @sparticuz/chromium once (twice at the same moment: one copy) and renders a page with it', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'mailroom-browser-fallback-'));
    folders.push(cacheDir);
    const [first, second] = await Promise.all([
      findBrowser({ env: {}, systemPaths: [], cacheDir }),
      findBrowser({ env: {}, systemPaths: [], cacheDir }),
    ]);
    expect(first.source).toBe('@sparticuz/chromium');
    expect(second.executablePath).toBe(first.executablePath);
    expect(first.executablePath.startsWith(cacheDir)).toBe(true);
    expect(existsSync(first.executablePath)).toBe(true);
    // Its flags and ours, once each.
    expect(first.args).toContain('--no-sandbox');
    expect(first.args).toContain('--disable-background-networking');
    expect(new Set(first.args).size).toBe(first.args.length);

    const browser = await launchBrowser(first);
    try {
      // Page after page, as the suites open them.
      for (const heading of ['Delivered', 'Delivered again']) {
        const page = await browser.newPage();
        await page.setContent(`<main><h1>${heading}</h1><p>by the packaged Chromium</p></main>`);
        expect(await page.locator('h1').innerText()).toBe(heading);
        expect((await page.locator('h1').boundingBox())!.width).toBeGreaterThan(50);
        expect((await page.screenshot()).length).toBeGreaterThan(1000);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  it('MAILROOM_TEST_BROWSER=sparticuz skips CHROMIUM_PATH and the system, to prove the fallback on a machine that has both', async () => {
    const found = await findBrowser({ env: { MAILROOM_TEST_BROWSER: 'sparticuz', CHROMIUM_PATH: '/usr/bin/chromium' }, systemPaths: [process.execPath] });
    expect(found.source).toBe('@sparticuz/chromium');
  });
});
