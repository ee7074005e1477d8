// The config the library's tests run on: a fixture catalogue of a small app that is
// not this repository's product (test/fixtures/library/), and mailroom's calls bound
// to it, so a test reads `enqueueEmail(db, {...})` as an app's code reads
// `mail.enqueue(trx, {...})`. The product's tests use ./product.ts.
import { fileURLToPath } from 'node:url';
import { createMailroom } from '../../src/index.ts';
import { catalogueOf } from '../../src/templates/catalogue.ts';
import { renderEmail as render, type RenderedEmail } from '../../src/templates/render.ts';
import type { RenderContext } from '../../src/templates/define.ts';
import config from '../fixtures/library/mailroom.config.ts';

export { config };
/** The fixture config's file, for CLI commands run by tests (MAILROOM_CONFIG). */
export const CONFIG_FILE = fileURLToPath(new URL('../fixtures/library/mailroom.config.ts', import.meta.url));
export const mail = createMailroom(config);
/** The templates by name, typed (`catalogue['account-confirm'].schema`). */
export const catalogue = config.templates;
/** The same as mailroom's lookup object, for the internals that take one. */
export const templateCatalogue = catalogueOf(config);
export const templateNames = templateCatalogue.names as TemplateName[];
export const enqueueEmail = mail.enqueue;
export const enqueueEmails = mail.enqueueMany;
export const renderEmail = (template: string, props: unknown, context?: RenderContext): Promise<RenderedEmail> =>
  render(config, template, props, context);
export type TemplateName = keyof typeof config.templates & string;
