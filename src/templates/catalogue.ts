// The one list of emails mailroom can send. A template's name maps to its React
// component, props schema, subject, sensitive props and delivery policy, so a
// caller says only which email and to whom: a password reset outranks a digest
// without anyone passing a priority. `mailroom migrate` copies names, required
// props and policy into mailroom.template so SQL producers meet the same rules.
import type { ComponentType } from 'react';
import type { z } from 'zod';
import type { RenderContext } from '../../emails/components/render-context.ts';
import * as childUpgradeVerify from '../../emails/child-upgrade-verify.tsx';
import * as circleInvitation from '../../emails/circle-invitation.tsx';
import * as digest from '../../emails/digest.tsx';
import * as guardianConsentReminder from '../../emails/guardian-consent-reminder.tsx';
import * as invitationDeclined from '../../emails/invitation-declined.tsx';
import * as invitationReminder from '../../emails/invitation-reminder.tsx';
import * as newMediaAlert from '../../emails/new-media-alert.tsx';
import * as passwordChanged from '../../emails/password-changed.tsx';
import * as passwordReset from '../../emails/password-reset.tsx';
import * as resendVerification from '../../emails/resend-verification.tsx';
import * as verifyEmail from '../../emails/verify-email.tsx';

export interface DeliveryPolicy {
  /** Higher goes first. -100..100. */
  priority: number;
  /** Tries before the row is failed. */
  maxAttempts: number;
  /** How long after enqueue the email is still worth sending (a PostgreSQL interval), or null for ever. */
  ttl: string | null;
  /** The transport to use when several are configured (issue #4); `default` follows MAIL_TRANSPORT. */
  transport: 'default' | 'smtp' | 'mailjet';
}

/** What each file in emails/ exports. */
interface EmailModule<S extends z.ZodObject> {
  default: ComponentType<z.output<S> & RenderContext>;
  schema: S;
  subject: (props: z.output<S>, locale?: string) => string;
  sensitiveProps: readonly (keyof z.output<S> & string)[];
  headerProps: readonly (keyof z.output<S> & string)[];
}

export interface TemplateDefinition<S extends z.ZodObject = z.ZodObject> {
  component: ComponentType<z.output<S> & RenderContext>;
  schema: S;
  subject: (props: z.output<S>, locale?: string) => string;
  sensitiveProps: readonly string[];
  headerProps: readonly string[];
  previewProps: z.input<S>;
  policy: DeliveryPolicy;
}

function define<S extends z.ZodObject>(module: EmailModule<S>, policy: DeliveryPolicy): TemplateDefinition<S> {
  const previewProps = (module.default as unknown as { PreviewProps?: z.input<S> }).PreviewProps;
  if (!previewProps) throw new Error('every email component needs PreviewProps');
  return {
    component: module.default,
    schema: module.schema,
    subject: module.subject,
    sensitiveProps: module.sensitiveProps,
    headerProps: module.headerProps,
    previewProps,
    policy,
  };
}


// Priority: account security first (a reset is useless late), then confirmations,
// then invitations, then notifications nobody waits for. ttl: after it, a row ends
// `expired` unsent (a token email's own not_after, set by the caller, may be sooner).
export const catalogue = {
  'password-reset': define(passwordReset, { priority: 30, maxAttempts: 8, ttl: '1 hour', transport: 'default' }),
  'password-changed': define(passwordChanged, { priority: 25, maxAttempts: 8, ttl: '7 days', transport: 'default' }),
  'verify-email': define(verifyEmail, { priority: 20, maxAttempts: 8, ttl: '2 days', transport: 'default' }),
  'resend-verification': define(resendVerification, { priority: 20, maxAttempts: 8, ttl: '2 days', transport: 'default' }),
  'child-upgrade-verify': define(childUpgradeVerify, { priority: 20, maxAttempts: 8, ttl: '2 days', transport: 'default' }),
  'circle-invitation': define(circleInvitation, { priority: 10, maxAttempts: 6, ttl: '7 days', transport: 'default' }),
  'guardian-consent-reminder': define(guardianConsentReminder, { priority: 5, maxAttempts: 6, ttl: '3 days', transport: 'default' }),
  'invitation-reminder': define(invitationReminder, { priority: 0, maxAttempts: 5, ttl: '2 days', transport: 'default' }),
  'invitation-declined': define(invitationDeclined, { priority: 0, maxAttempts: 5, ttl: '7 days', transport: 'default' }),
  'new-media-alert': define(newMediaAlert, { priority: -10, maxAttempts: 3, ttl: '1 day', transport: 'default' }),
  digest: define(digest, { priority: -20, maxAttempts: 3, ttl: '1 day', transport: 'default' }),
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

