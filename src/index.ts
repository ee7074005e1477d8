// mailroom's public API for applications.
export { enqueueEmail, type EnqueueEmail, type Executor } from './outbox/enqueue-email.ts';
export { enqueueEmails } from './outbox/enqueue-emails.ts';
export { ValidationError } from './errors.ts';
export { catalogue, templateNames, type TemplateName, type TemplateProps } from './templates/catalogue.ts';
export { renderEmail, type RenderedEmail } from './templates/render.ts';
export { migrate } from './migrate.ts';
