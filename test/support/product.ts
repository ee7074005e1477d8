// The product's config (mailroom.config.ts: emails/ and the reference app) and
// mailroom's calls bound to it, for the product's own tests (test/product/). The
// library's tests run on a fixture catalogue instead (./mailroom.ts).
import { createMailroom } from '../../src/index.ts';
import { catalogueOf } from '../../src/templates/catalogue.ts';
import { renderEmail as render, type RenderedEmail } from '../../src/templates/render.ts';
import type { RenderContext } from '../../src/templates/define.ts';
import config from '../../mailroom.config.ts';

export { config };
export const mail = createMailroom(config);
/** The templates by name, typed (`catalogue['verify-email'].schema`). */
export const catalogue = config.templates;
/** The same as mailroom's lookup object, for the internals that take one. */
export const templateCatalogue = catalogueOf(config);
export const templateNames = templateCatalogue.names as TemplateName[];
export const enqueueEmail = mail.enqueue;
export const enqueueEmails = mail.enqueueMany;
export const renderEmail = (template: string, props: unknown, context?: RenderContext): Promise<RenderedEmail> =>
  render(config, template, props, context);
export type TemplateName = keyof typeof config.templates & string;
