// The text part is made by a converter compiled once (src/templates/plain-text.ts)
// and dates by formatters kept per locale (emails/components/render-context.ts):
// both must give exactly what react-email's toPlainText and a fresh
// Intl.DateTimeFormat give, for every template and locale.
import { toPlainText as reactEmailToPlainText } from 'react-email';
import { describe, expect, it } from 'vitest';
import { formatDateTime } from '../../emails/components/render-context.ts';
import { catalogue, templateNames } from '../support/product.ts';
import { toPlainText } from '../../src/templates/plain-text.ts';
import { renderEmail } from '../support/product.ts';

const locales = [undefined, 'en', 'fr', 'fr-CA', 'de', 'en-GB'];

describe('the compiled plain-text converter', () => {
  for (const name of templateNames) {
    it(`${name}: same text as react-email's toPlainText in every locale`, async () => {
      for (const locale of locales) {
        const email = await renderEmail(name, catalogue[name].previewProps, { baseUrl: 'https://circles.example', ...(locale ? { locale } : {}) });
        expect(email.text).toBe(reactEmailToPlainText(email.html));
        // Converting twice with the same compiled converter keeps no state between calls.
        expect(toPlainText(email.html)).toBe(email.text);
      }
    });
  }

  it('handles markup the templates do not use yet (lists, images, skipped parts) like toPlainText', () => {
    const html =
      '<html><body><h1>Title</h1><ul><li>one</li><li>two <a href="https://x.example/a">link</a></li></ul>' +
      '<img src="x.png" alt="x"><div data-skip-in-text="true">hidden</div><table><tr><td>a</td><td>b</td></tr></table>' +
      '<p>&lt;script&gt; &amp; more</p></body></html>';
    expect(toPlainText(html)).toBe(reactEmailToPlainText(html));
  });
});

describe('formatDateTime with kept formatters', () => {
  it('formats as a fresh Intl.DateTimeFormat does, for each locale, repeatedly', () => {
    const fresh = (iso: string, locale: string) =>
      `${new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso))} UTC`;
    for (const locale of ['en', 'fr', 'fr-CA', 'de', 'ja']) {
      for (const iso of ['2026-12-01T12:00:00Z', '2027-02-28T23:59:00Z']) {
        expect(formatDateTime(iso, locale)).toBe(fresh(iso, locale));
        expect(formatDateTime(iso, locale)).toBe(fresh(iso, locale));
      }
    }
    expect(formatDateTime('2026-12-01T12:00:00Z', undefined)).toBe(fresh('2026-12-01T12:00:00Z', 'en'));
  });

  it('still rejects a malformed locale tag and keeps working for good ones after many distinct tags', () => {
    expect(() => formatDateTime('2026-12-01T12:00:00Z', 'not a locale!')).toThrow(RangeError);
    for (let i = 0; i < 300; i++) formatDateTime('2026-12-01T12:00:00Z', `en-x-t${i}`);
    expect(formatDateTime('2026-12-01T12:00:00Z', 'en')).toBe('December 1, 2026 at 12:00 PM UTC');
  });
});
