// Template + props -> { subject, html, text }. Never pretty-printed: pretty costs
// 5-7 ms per email against under 1 ms without (LIBRARIES.md), and mail clients
// do not care.
import { createElement } from 'react';
import { render } from 'react-email';
import type { RenderContext } from '../../emails/components/render-context.ts';
import { RenderError } from '../errors.ts';
import { getTemplate } from './catalogue.ts';
import { toPlainText } from './plain-text.ts';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/**
 * Render one email. Props are checked against the template's schema here too:
 * rows written through SQL were only checked for required keys.
 * Throws RenderError (permanent: retrying cannot help).
 */
export async function renderEmail(template: string, props: unknown, context: RenderContext = {}): Promise<RenderedEmail> {
  const definition = getTemplate(template);
  if (!definition) throw new RenderError(template, new Error('unknown template'));
  const parsed = definition.schema.safeParse(props);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RenderError(template, new Error(`props.${issue.path.join('.')}: ${issue.message}`));
  }
  try {
    const subject = definition.subject(parsed.data, context.locale);
    if (/[\r\n]/.test(subject)) throw new Error('subject contains a line break');
    const element = createElement(definition.component, { ...parsed.data, ...context });
    const html = await render(element, { pretty: false });
    return { subject, html, text: toPlainText(html) };
  } catch (error) {
    throw new RenderError(template, error);
  }
}
