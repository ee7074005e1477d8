// mailroom's main entry point: what an app needs to declare its emails and enqueue
// them. It loads no React, no pg-boss, no prom-client and no Fastify: a process that
// only enqueues pays for zod and its own templates' schemas.
//   mailroom/worker      startWorker(), renderEmail()
//   mailroom/transports  the Transport contract and smtp, mailjet, capture, failover
//   mailroom/admin       the admin pages as a Fastify plugin, and the HTTP server
//   mailroom/migrate     migrate(): mailroom's schema and the config's catalogue
//   mailroom/testing     what an app's own tests use
export { defineTemplate, DefinitionError, DEFAULT_POLICY } from './templates/define.ts';
export type { DeliveryPolicy, EmailComponent, RenderContext, TemplateDefinition, TemplateOptions, Templates } from './templates/define.ts';
export type { Envelope, EnvelopeOptions } from './templates/envelope.ts';
export { defineConfig } from './define-config.ts';
export type { MailroomConfig, RoutesContext, TemplateName, TemplateProps } from './define-config.ts';
export { createMailroom, type Mailroom, type MailroomOptions } from './outbox/create-mailroom.ts';
export type { AnyEmail, EnqueueEmail } from './outbox/enqueue-email.ts';
export type { Executor, Queryable } from './outbox/executor.ts';
export { ValidationError } from './errors.ts';
