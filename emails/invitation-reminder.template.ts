// A pending invitation, a few days on: sent once per invitation.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/invitation-reminder.ts';

export const schema = z.object({
  token,
  inviterName: displayName,
  circleName: displayName,
  invitedAt: instant.optional(),
  expiresAt: instant.optional(),
});
export type InvitationReminderProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (_props: InvitationReminderProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-reminder-token-01',
  inviterName: 'Ada Lovelace',
  circleName: 'The Lovelace family',
  invitedAt: '2026-11-25T18:00:00Z',
  expiresAt: '2026-12-02T18:00:00Z',
} satisfies InvitationReminderProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./invitation-reminder.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  // Non-essential: a one-click unsubscribe link, and no more of these to whoever used it.
  unsubscribe: { category: 'reminders' },
  policy: { priority: 0, maxAttempts: 5, ttl: '2 days' },
});
