// Each email's HTML opened in a real headless Chromium: the page shows text, and
// its main link is there, visible, and points into FRONTEND_BASE_URL. A circle
// named like a script stays text: no script runs.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue, templateNames } from '../support/product.ts';
import { renderEmail } from '../support/product.ts';
import { launchBrowser } from '../support/browser.ts';

const BASE = 'https://circles.example';
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('emails in Chromium', () => {
  for (const name of templateNames) {
    it(`${name}: not blank, main link present and into FRONTEND_BASE_URL`, async () => {
      const { html } = await renderEmail(name, catalogue[name].previewProps, { baseUrl: BASE });
      const page = await browser.newPage();
      try {
        // Emails load nothing from the network; keep it that way in the test too.
        await page.route('**/*', (route) => route.abort());
        await page.setContent(html, { waitUntil: 'load' });
        const text = await page.locator('body').innerText();
        expect(text.trim().length).toBeGreaterThan(80);
        const main = page.locator('a[data-role="primary-action"]');
        await expect(main.count()).resolves.toBe(1);
        expect(await main.isVisible()).toBe(true);
        const box = await main.boundingBox();
        expect(box!.width).toBeGreaterThan(50);
        expect(box!.height).toBeGreaterThan(20);
        expect(await main.getAttribute('href')).toMatch(new RegExp(`^${BASE.replace(/\./g, '\\.')}/`));
      } finally {
        await page.close();
      }
    });
  }

  it('shows a circle named <script>alert(1)</script> as text, running nothing', async () => {
    const evil = '<script>alert(1)</script>';
    const { html } = await renderEmail(
      'circle-invitation',
      { token: 'token-0123456789abcdef', inviterName: 'Mallory', circleName: evil },
      { baseUrl: BASE },
    );
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', async (dialog) => {
      dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    try {
      await page.setContent(html, { waitUntil: 'load' });
      expect(await page.locator('body').innerText()).toContain(evil);
      expect(await page.locator('script').count()).toBe(0);
      expect(dialogs).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
