// The one list of emails mailroom can send. A template's name maps to its React
// component, props schema, subject, sensitive props and delivery policy, so a
// caller says only which email and to whom; priority and retries follow from here.
// `mailroom migrate` copies names, required props and policy into mailroom.template
// so SQL producers are held to the same rules.
import type { ComponentType } from 'react';
import type { z } from 'zod';
import * as verifyEmail from '../../emails/verify-email.tsx';

export interface DeliveryPolicy {
  /** Higher goes first. -100..100. */
  priority: number;
  /** Tries before the row is failed. */
  maxAttempts: number;
  /** How long after enqueue the email is still worth sending (a PostgreSQL interval), or null for ever. */
  ttl: string | null;
}

export interface TemplateDefinition<S extends z.ZodObject = z.ZodObject> {
  component: ComponentType<z.output<S>>;
  schema: S;
  subject: (props: z.output<S>) => string;
  sensitiveProps: readonly (keyof z.output<S> & string)[];
  /** Props that feed a header (the subject), refused when they hold a line break. */
  headerProps: readonly (keyof z.output<S> & string)[];
  policy: DeliveryPolicy;
}

function define<S extends z.ZodObject>(
  module: {
    default: ComponentType<z.output<S>>;
    schema: S;
    subject: (props: z.output<S>) => string;
    sensitiveProps: readonly (keyof z.output<S> & string)[];
  },
  rest: { headerProps: readonly (keyof z.output<S> & string)[]; policy: DeliveryPolicy },
): TemplateDefinition<S> {
  return {
    component: module.default,
    schema: module.schema,
    subject: module.subject,
    sensitiveProps: module.sensitiveProps,
    ...rest,
  };
}

export const catalogue = {
  'verify-email': define(verifyEmail, {
    headerProps: ['name'],
    policy: { priority: 10, maxAttempts: 8, ttl: '2 days' },
  }),
} as const;

export type TemplateName = keyof typeof catalogue;
export type TemplateProps<T extends TemplateName> = z.input<(typeof catalogue)[T]['schema']>;

export const templateNames = Object.keys(catalogue) as TemplateName[];

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(catalogue, name);
}

export function getTemplate(name: string): TemplateDefinition | undefined {
  return isTemplateName(name) ? (catalogue[name] as unknown as TemplateDefinition) : undefined;
}

/** Keys a props object must have: those whose schema refuses `undefined`. */
export function requiredProps(definition: TemplateDefinition): string[] {
  return Object.entries(definition.schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([key]) => key)
    .sort();
}
