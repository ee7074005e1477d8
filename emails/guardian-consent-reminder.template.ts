// Reminds a guardian that a child's login waits for their consent.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/guardian-consent-reminder.ts';

export const schema = z.object({ token, guardianName: displayName.optional(), childName: displayName, expiresAt: instant.optional() });
export type GuardianConsentReminderProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (_props: GuardianConsentReminderProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-consent-token-012',
  guardianName: 'Ada',
  childName: 'Sam',
  expiresAt: '2026-12-04T09:00:00Z',
} satisfies GuardianConsentReminderProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./guardian-consent-reminder.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  // Non-essential: a one-click unsubscribe link, and no more of these to whoever used it.
  unsubscribe: { category: 'reminders' },
  policy: { priority: 5, maxAttempts: 6, ttl: '3 days' },
});
