// The config the library's tests run on: a fixture catalogue of a small app that is
// not this repository's product (test/fixtures/library/), with mailroom's calls bound
// to it (./bound-config.ts). The product's tests use ./product.ts.
import { fileURLToPath } from 'node:url';
import config from '../fixtures/library/mailroom.config.ts';
import { boundConfig } from './bound-config.ts';

export { config };
/** The fixture config's file, for CLI commands run by tests (MAILROOM_CONFIG). */
export const CONFIG_FILE = fileURLToPath(new URL('../fixtures/library/mailroom.config.ts', import.meta.url));
export const { mail, catalogue, templateCatalogue, templateNames, enqueueEmail, enqueueEmails, renderEmail } = boundConfig(config);
export type TemplateName = keyof typeof config.templates & string;
