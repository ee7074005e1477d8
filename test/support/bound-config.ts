// mailroom's calls bound to one config, so a test reads `enqueueEmail(db, {...})` as
// an app's code reads `mail.enqueue(trx, {...})`. ./mailroom.ts binds the library's
// fixture catalogue, ./product.ts the product's.
import { createMailroom, type MailroomConfig, type Templates } from '../../src/index.ts';
import { catalogueOf } from '../../src/templates/catalogue.ts';
import { renderEmail as render, type RenderedEmail } from '../../src/templates/render.ts';
import type { RenderContext } from '../../src/templates/define.ts';

export function boundConfig<T extends Templates>(config: MailroomConfig<T>) {
  const mail = createMailroom(config);
  const templateCatalogue = catalogueOf(config);
  return {
    mail,
    /** The templates by name, typed (`catalogue['account-confirm'].schema`). */
    catalogue: config.templates,
    /** The same as mailroom's lookup object, for the internals that take one. */
    templateCatalogue,
    templateNames: templateCatalogue.names as (keyof T & string)[],
    enqueueEmail: mail.enqueue,
    enqueueEmails: mail.enqueueMany,
    renderEmail: (template: string, props: unknown, context?: RenderContext): Promise<RenderedEmail> => render(config, template, props, context),
  };
}
