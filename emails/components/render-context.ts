// What every email component receives besides its own props: chosen by the worker
// at render time (FRONTEND_BASE_URL, the row's locale), never stored in the row.
export interface RenderContext {
  baseUrl?: string;
  locale?: string;
}

export const DEFAULT_LOCALE = 'en';

/** The strings for a locale, falling back to the language, then to English. */
export function pick<S>(table: { en: S } & Record<string, S>, locale: string | undefined): S {
  if (!locale) return table.en;
  return table[locale] ?? table[locale.split('-')[0]!] ?? table.en;
}

/** In UTC, said so: the worker does not know the reader's time zone. */
export function formatDateTime(iso: string, locale: string | undefined): string {
  const text = new Intl.DateTimeFormat(locale ?? DEFAULT_LOCALE, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(
    new Date(iso),
  );
  return `${text} UTC`;
}
