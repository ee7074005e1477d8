// An app's mailroom config: its templates, and what the CLI should run besides
// mailroom's own parts (the app's migrations, its HTTP routes). The CLI loads it
// from `mailroom.config.{ts,mjs,js}` (or --config); code passes it to
// createMailroom(), startWorker(), migrate() and the test helper. Types flow from
// it: template names and their props are checked at compile time.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import { DefinitionError, type TemplateDefinition, type Templates } from './templates/define.ts';
import { addressOf } from './templates/envelope.ts';

/** What `routes` receives: the server's pool (borrowed, never closed by the app) and its logger. */
export interface RoutesContext {
  pool: pg.Pool;
  databaseUrl: string;
  logger: Logger;
}

export interface MailroomConfig<T extends Templates = Templates> {
  /** Every email the app sends, by name (`a-z`, `0-9` and `-`). */
  readonly templates: T;
  /**
   * The From lines templates may use (`'Family Circles <hello@circles.example>'`): a
   * template's `envelope.from` must be one of them, so no template can send as
   * someone the app never meant. Default: none (every email is from the worker's `from`).
   */
  readonly senders?: readonly string[];
  /** The app's own schema: `mailroom migrate` and `mailroom dev` run this after mailroom's migrations. Returns what it applied. */
  readonly migrate?: (context: { databaseUrl: string }) => Promise<readonly string[] | void>;
  /** Extra HTTP routes that `mailroom serve` and `mailroom dev` mount beside the admin pages (the app's own API). */
  readonly routes?: (server: FastifyInstance, context: RoutesContext) => Promise<void> | void;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** Declare the app's config. Checks names and definitions at once (DefinitionError). */
export function defineConfig<const T extends Templates>(config: MailroomConfig<T>): MailroomConfig<T> {
  if (!config || typeof config !== 'object') throw new DefinitionError('defineConfig: expects an object with `templates`');
  const { templates } = config;
  if (!templates || typeof templates !== 'object' || Object.keys(templates).length === 0) {
    throw new DefinitionError('defineConfig: `templates` must name at least one template (defineTemplate)');
  }
  for (const [name, definition] of Object.entries(templates)) {
    if (!NAME.test(name)) throw new DefinitionError(`defineConfig: template name "${name}" must be 1-100 of a-z, 0-9 and - (starting with a letter or digit)`);
    if (!isDefinition(definition)) throw new DefinitionError(`defineConfig: templates["${name}"] must be made with defineTemplate()`);
  }
  const senders = config.senders ?? [];
  if (!Array.isArray(senders)) throw new DefinitionError('defineConfig: `senders` must be a list of From lines');
  for (const sender of senders) {
    if (addressOf(sender) === null) throw new DefinitionError(`defineConfig: senders holds ${JSON.stringify(sender)}, which is not one line "Name <address>" or an address`);
  }
  const allowed = new Set(senders.map((sender) => sender.trim()));
  for (const [name, definition] of Object.entries(templates)) {
    const from = definition.envelope.from;
    if (from !== null && !allowed.has(from)) {
      throw new DefinitionError(`defineConfig: templates["${name}"].envelope.from ${JSON.stringify(from)} is not one of the config's senders (add it to \`senders\`)`);
    }
  }
  for (const hook of ['migrate', 'routes'] as const) {
    if (config[hook] !== undefined && typeof config[hook] !== 'function') throw new DefinitionError(`defineConfig: \`${hook}\` must be a function`);
  }
  return Object.freeze({ ...config, templates: Object.freeze({ ...templates }) as T });
}

function isDefinition(value: unknown): value is TemplateDefinition {
  const d = value as TemplateDefinition | null;
  return !!d && typeof d === 'object' && typeof d.component === 'function' && typeof d.subject === 'function' && !!d.schema && !!d.policy && !!d.envelope;
}

/** Template names of a config. */
export type TemplateName<C extends MailroomConfig<any>> = keyof C['templates'] & string;

/** The props a config's template takes, as enqueue accepts them. */
export type TemplateProps<C extends MailroomConfig<any>, N extends TemplateName<C>> = import('zod').input<C['templates'][N]['schema']>;
