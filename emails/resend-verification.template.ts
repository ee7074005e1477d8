// Sent when a user asks again for the confirmation link ("resend verification").
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/resend-verification.ts';

export const schema = z.object({ token, name: displayName.optional(), expiresAt: instant.optional() });
export type ResendVerificationProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = [] as const;
export const subject = (_props: ResendVerificationProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-resend-token-0123',
  name: 'Ada',
  expiresAt: '2026-12-01T12:00:00Z',
} satisfies ResendVerificationProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./resend-verification.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 20, maxAttempts: 8, ttl: '2 days' },
});
