// This repository's product, wired to mailroom the way any app is: its emails
// (emails/), its own schema and its HTTP API (app/, the reference app). The CLI
// loads this file (`mailroom migrate|worker|serve|dev|preview ...`), and the app's
// code hands it to createMailroom() to enqueue.
//
// The app is imported lazily: a process that loads this config to enqueue or to
// run the worker never loads Fastify routes or the app's schedules.
import { defineConfig } from 'mailroom';
import { templates } from './emails/index.ts';

export default defineConfig({
  templates,
  migrate: async ({ databaseUrl }) => (await import('./app/migrate.ts')).migrateApp(databaseUrl),
  routes: async (server, context) => (await import('./app/index.ts')).appRoutes(server, context),
});
