// A single-use link to choose a new password. It expires soon, and says when.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/password-reset.ts';

export const schema = z.object({ token, name: displayName.optional(), expiresAt: instant });
export type PasswordResetProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = [] as const;
export const subject = (_props: PasswordResetProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-reset-token-01234',
  name: 'Ada',
  expiresAt: '2026-11-28T13:00:00Z',
} satisfies PasswordResetProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./password-reset.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 30, maxAttempts: 8, ttl: '1 hour' },
});
