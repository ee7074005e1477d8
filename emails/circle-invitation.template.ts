// A circle admin invites someone: accept or decline with the same token.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/circle-invitation.ts';

export const schema = z.object({ token, inviterName: displayName, circleName: displayName, expiresAt: instant.optional() });
export type CircleInvitationProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (_props: CircleInvitationProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-invite-token-0123',
  inviterName: 'Ada Lovelace',
  circleName: 'The Lovelace family',
  expiresAt: '2026-12-05T18:00:00Z',
} satisfies CircleInvitationProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./circle-invitation.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 10, maxAttempts: 6, ttl: '7 days' },
});
