// Security notice after a password change; points to the reset flow in case it was not the user.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/password-changed.ts';

export const schema = z.object({ name: displayName.optional(), changedAt: instant });
export type PasswordChangedProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
export const headerProps = [] as const;
export const subject = (_props: PasswordChangedProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = { name: 'Ada', changedAt: '2026-11-28T12:34:00Z' } satisfies PasswordChangedProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./password-changed.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 25, maxAttempts: 8, ttl: '7 days' },
});
