// Tells the inviter that the invitation was declined. No token: it links to the circle.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, headerText, pathId } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/invitation-declined.ts';

export const schema = z.object({
  inviterName: displayName.optional(),
  inviteeEmail: headerText.max(254).pipe(z.email()),
  circleName: displayName,
  circleId: pathId,
});
export type InvitationDeclinedProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (_props: InvitationDeclinedProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  inviterName: 'Ada',
  inviteeEmail: 'charles@example.com',
  circleName: 'The Lovelace family',
  circleId: 'c_42',
} satisfies InvitationDeclinedProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./invitation-declined.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 0, maxAttempts: 5, ttl: '7 days' },
});
