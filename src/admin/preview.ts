// A row's email as an operator may see it: sensitive props (tokens) masked before
// rendering, so the preview, the props shown beside it and a screenshot of either
// never carry a live link.
import { randomBytes } from 'node:crypto';
import type { Catalogue } from '../templates/catalogue.ts';
import { renderEmail, type RenderedEmail } from '../templates/render.ts';

export const MASK = '••••';

/**
 * Props with each sensitive prop of the template that is there replaced by `mask`
 * (the CLI's `show` and the pages). A template the config does not know (removed
 * since, or a config that is not the app's): which props are secret is unknown, so
 * every one is masked.
 */
export function maskProps(catalogue: Catalogue, template: string, props: Record<string, unknown>, mask: string = MASK): Record<string, unknown> {
  const known = catalogue.get(template) !== undefined;
  const sensitive = new Set(catalogue.sensitiveProps(template));
  return Object.fromEntries(Object.entries(props).map(([key, value]) => [key, !known || sensitive.has(key) ? mask : value]));
}

/**
 * Render a row with its sensitive props masked. Templates validate their props (a
 * token must look like one), so each sensitive prop gets a random placeholder that
 * passes, and the placeholder is replaced by MASK in the result.
 */
export async function renderMasked(
  catalogue: Catalogue,
  row: { template: string; props: Record<string, unknown>; locale: string | null },
  options: { baseUrl?: string } = {},
): Promise<RenderedEmail> {
  const placeholder = `masked${randomBytes(12).toString('hex')}`;
  // Every sensitive prop, also one already scrubbed from a sent row: the preview still renders.
  const props = { ...row.props };
  for (const key of catalogue.sensitiveProps(row.template)) props[key] = placeholder;
  const rendered = await renderEmail(catalogue, row.template, props, {
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(row.locale ? { locale: row.locale } : {}),
  });
  const hide = (text: string) => text.replaceAll(placeholder, MASK);
  return { subject: hide(rendered.subject), html: hide(rendered.html), text: hide(rendered.text) };
}
