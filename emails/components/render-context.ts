// What every email component receives besides its own props: chosen by the worker
// at render time (FRONTEND_BASE_URL, the row's locale), never stored in the row.
export type { RenderContext } from 'mailroom';

export const DEFAULT_LOCALE = 'en';

/** The strings for a locale, falling back to the language, then to English. */
export function pick<S>(table: { en: S } & Record<string, S>, locale: string | undefined): S {
  if (!locale) return table.en;
  return table[locale] ?? table[locale.split('-')[0]!] ?? table.en;
}

/** In UTC, said so: the worker does not know the reader's time zone. */
export function formatDateTime(iso: string, locale: string | undefined): string {
  return `${dateTimeFormat(locale ?? DEFAULT_LOCALE).format(new Date(iso))} UTC`;
}

// Building an Intl.DateTimeFormat costs more than rendering the rest of a small
// email (a tenth of the CPU in the issue #7 render profile); formatting with a
// kept one is cheap and gives the same text. Kept per locale tag as written on
// the row, a bounded number of them, since the tag comes from the caller.
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();
function dateTimeFormat(locale: string): Intl.DateTimeFormat {
  let format = dateTimeFormats.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
    if (dateTimeFormats.size < 100) dateTimeFormats.set(locale, format);
  }
  return format;
}
