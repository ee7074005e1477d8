// Sent at signup: a link that proves the address belongs to the user.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/verify-email.ts';

export const schema = z.object({
  token,
  name: displayName.optional(),
  expiresAt: instant.optional(),
});
export type VerifyEmailProps = z.infer<typeof schema>;

export const sensitiveProps = ['token'] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (_props: VerifyEmailProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-token-0123456789',
  name: 'Ada',
  expiresAt: '2026-12-01T12:00:00Z',
} satisfies VerifyEmailProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./verify-email.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 20, maxAttempts: 8, ttl: '2 days' },
});
