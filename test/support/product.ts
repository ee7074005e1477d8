// The product's config (mailroom.config.ts: emails/ and the reference app) with
// mailroom's calls bound to it (./bound-config.ts), for the product's own tests
// (test/product/). The library's tests run on a fixture catalogue instead (./mailroom.ts).
import config from '../../mailroom.config.ts';
import { boundConfig } from './bound-config.ts';

export { config };
export const { mail, catalogue, templateCatalogue, templateNames, enqueueEmail, enqueueEmails, renderEmail } = boundConfig(config);
export type TemplateName = keyof typeof config.templates & string;
