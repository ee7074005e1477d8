// How an app tells mailroom about its emails. The app owns its templates (schema,
// subject, React component, policy) and hands them over in one config, the way
// graphile-worker takes a task list: mailroom never imports an app's code.
//
// Nothing here loads React. A component may be given lazily (`loadComponent`), so
// a process that only enqueues validates props with zod and never imports it.
import type { ComponentType } from 'react';
import type { z } from 'zod';
import { CATEGORY } from '../unsubscribe/category.ts';
import { resolveEnvelope, type Envelope, type EnvelopeOptions } from './envelope.ts';

/** What every email component receives besides its own props, chosen by the worker at render time. */
export interface RenderContext {
  /** Where links point (the worker's `frontendBaseUrl`, FRONTEND_BASE_URL in the CLI). */
  baseUrl?: string;
  /** The row's locale, e.g. `fr` or `pt-BR`, if the caller gave one. */
  locale?: string;
  /** For a template with `unsubscribe`: the recipient's one-click unsubscribe link. Show it in the body. */
  unsubscribeUrl?: string;
}

export type EmailComponent<P> = ComponentType<P & RenderContext>;

export interface DeliveryPolicy {
  /** Higher goes first, -100..100. Default 0. */
  priority: number;
  /** Tries before the row is failed, 1..50. Default 5. */
  maxAttempts: number;
  /** How long after enqueue the email is still worth sending, as a PostgreSQL interval (`'2 days'`); null: for ever. Default null. */
  ttl: string | null;
}

export const DEFAULT_POLICY: Readonly<DeliveryPolicy> = Object.freeze({ priority: 0, maxAttempts: 5, ttl: null });

type Keys<S extends z.ZodObject> = keyof z.output<S> & string;

export interface TemplateOptions<S extends z.ZodObject> {
  /** The props, checked at enqueue (TypeScript and SQL) and again at render. */
  schema: S;
  /** The subject line from the parsed props and the row's locale. Must be one line. */
  subject: (props: z.output<S>, locale?: string) => string;
  /** The React Email component. Give this or `loadComponent`. */
  component?: EmailComponent<z.output<S>>;
  /** The component, loaded on first render (`() => import('./welcome.tsx')`), so enqueuing never loads React. */
  loadComponent?: () => Promise<EmailComponent<z.output<S>> | { default: EmailComponent<z.output<S>> }>;
  /** Props that render a realistic example: `mailroom preview`, the admin pages, the app's tests. Checked against the schema. */
  previewProps: z.input<S>;
  /** Props that carry a secret (a token): never logged, masked in previews, removed from the row once sent. */
  sensitiveProps?: readonly Keys<S>[];
  /** Props that reach a header (the subject): a line break in them is refused at enqueue, in TypeScript and SQL. */
  headerProps?: readonly Keys<S>[];
  /** Priority, attempts and time to live; each field defaults as in DEFAULT_POLICY. */
  policy?: Partial<DeliveryPolicy>;
  /** From (one of the config's `senders`), Reply-To, extra X- headers and provider tags. Default: the worker's From, nothing else. */
  envelope?: EnvelopeOptions;
  /**
   * A non-essential email (a digest, an alert, a reminder): it carries a one-click
   * unsubscribe link for its category (List-Unsubscribe headers, and `unsubscribeUrl`
   * for the body), and an address that used it gets no more of that category. Leave
   * it out for essential email (verification, password reset): it never carries the
   * link and is never blocked by an opt-out.
   */
  unsubscribe?: { category: string };
}

/** One template, as mailroom uses it. Made by defineTemplate(). */
export interface TemplateDefinition<S extends z.ZodObject = z.ZodObject> {
  readonly schema: S;
  readonly subject: (props: z.output<S>, locale?: string) => string;
  readonly previewProps: z.input<S>;
  readonly sensitiveProps: readonly string[];
  readonly headerProps: readonly string[];
  readonly policy: Readonly<DeliveryPolicy>;
  readonly envelope: Envelope;
  /** The opt-out category of a non-essential email; null: essential. */
  readonly unsubscribeCategory: string | null;
  /** The component, loading it the first time. */
  component(): Promise<EmailComponent<z.output<S>>>;
}

/** A config's templates: name -> definition. */
export type Templates = Record<string, TemplateDefinition<any>>;

/** Thrown when a template or a config is declared wrongly: a programming error, raised at import. */
export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionError';
  }
}

const TTL = /^\d+ (second|minute|hour|day|week)s?$/;

/** Declare one email. Checks the declaration at once, so a mistake fails at start-up, not at the first send. */
export function defineTemplate<S extends z.ZodObject>(options: TemplateOptions<S>): TemplateDefinition<S> {
  const fail = (message: string): never => {
    throw new DefinitionError(`defineTemplate: ${message}`);
  };
  if (!options || typeof options !== 'object') fail('expects an options object');
  const { schema, subject, component, loadComponent, previewProps } = options;
  if (!schema || typeof (schema as { safeParse?: unknown }).safeParse !== 'function' || typeof schema.shape !== 'object') {
    fail('schema must be a zod object schema (z.object({...}))');
  }
  if (typeof subject !== 'function') fail('subject must be a function (props, locale) => string');
  if ((component === undefined) === (loadComponent === undefined)) fail('give exactly one of component and loadComponent');
  if (component !== undefined && typeof component !== 'function') fail('component must be a React component');
  if (loadComponent !== undefined && typeof loadComponent !== 'function') fail('loadComponent must be a function that returns a promise');
  const keys = new Set(Object.keys(schema.shape));
  for (const field of ['sensitiveProps', 'headerProps'] as const) {
    for (const key of options[field] ?? []) {
      if (!keys.has(key)) fail(`${field} names "${key}", which the schema does not have`);
    }
  }
  const policy = { ...DEFAULT_POLICY, ...(options.policy ?? {}) };
  if (!Number.isInteger(policy.priority) || policy.priority < -100 || policy.priority > 100) fail('policy.priority must be an integer from -100 to 100');
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1 || policy.maxAttempts > 50) fail('policy.maxAttempts must be an integer from 1 to 50');
  if (policy.ttl !== null && !(typeof policy.ttl === 'string' && TTL.test(policy.ttl))) fail('policy.ttl must be null or like "2 days", "1 hour", "30 minutes"');
  const envelope = resolveEnvelope(options.envelope, fail);
  const unsubscribe = options.unsubscribe;
  if (unsubscribe !== undefined && !(unsubscribe && typeof unsubscribe === 'object' && typeof unsubscribe.category === 'string' && CATEGORY.test(unsubscribe.category))) {
    fail('unsubscribe must be { category } with a category of 1-63 of a-z, 0-9 and - (starting with a letter or digit)');
  }
  const preview = schema.safeParse(previewProps);
  if (!preview.success) {
    const issue = preview.error.issues[0]!;
    fail(`previewProps.${issue.path.join('.')}: ${issue.message}`);
  }

  let loaded: Promise<EmailComponent<z.output<S>>> | undefined;
  return Object.freeze({
    schema,
    subject,
    previewProps,
    sensitiveProps: Object.freeze([...(options.sensitiveProps ?? [])]),
    headerProps: Object.freeze([...(options.headerProps ?? [])]),
    policy: Object.freeze(policy),
    envelope,
    unsubscribeCategory: unsubscribe?.category ?? null,
    component() {
      if (component) return Promise.resolve(component);
      loaded ??= loadComponent!().then((module) => {
        const found = typeof module === 'function' ? module : (module as { default?: unknown })?.default;
        if (typeof found !== 'function') throw new DefinitionError('loadComponent must resolve to a component or a module whose default export is one');
        return found as EmailComponent<z.output<S>>;
      });
      // A failed import (a typo in the path) is tried again on the next render.
      loaded.catch(() => (loaded = undefined));
      return loaded;
    },
  });
}
