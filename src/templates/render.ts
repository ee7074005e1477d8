// Template + props -> { subject, html, text }. Never pretty-printed: pretty costs
// 5-7 ms per email against under 1 ms without (LIBRARIES.md), and mail clients
// do not care.
import { createElement } from 'react';
import { render } from 'react-email';
import type { MailroomConfig } from '../define-config.ts';
import { RenderError } from '../errors.ts';
import { catalogueOf, type Catalogue } from './catalogue.ts';
import type { RenderContext } from './define.ts';
import { toPlainText } from './plain-text.ts';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/**
 * Render one email of a config's catalogue, exactly as the worker does. Props are
 * checked against the template's schema here too (rows written through SQL meet
 * only the SQL-side checks). Throws RenderError (permanent: retrying cannot help).
 */
export async function renderEmail(
  source: MailroomConfig<any> | Catalogue,
  template: string,
  props: unknown,
  context: RenderContext = {},
): Promise<RenderedEmail> {
  const definition = catalogueOf(source).get(template);
  if (!definition) throw new RenderError(template, new Error('unknown template'));
  const parsed = definition.schema.safeParse(props);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RenderError(template, new Error(`props.${issue.path.join('.')}: ${issue.message}`));
  }
  try {
    const subject = definition.subject(parsed.data, context.locale);
    if (typeof subject !== 'string') throw new Error('subject() must return a string');
    if (/[\r\n]/.test(subject)) throw new Error('subject contains a line break');
    const component = await definition.component();
    const element = createElement(component, { ...parsed.data, ...context });
    const html = await render(element, { pretty: false });
    return { subject, html, text: toPlainText(html) };
  } catch (error) {
    throw new RenderError(template, error);
  }
}
