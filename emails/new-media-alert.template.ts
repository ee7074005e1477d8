// Someone added photos or videos to a circle: one email per other member.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, pathId } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/new-media-alert.ts';

export const schema = z.object({
  recipientName: displayName.optional(),
  uploaderName: displayName,
  circleName: displayName,
  circleId: pathId,
  count: z.number().int().min(1).max(10_000),
  kind: z.enum(['photo', 'video', 'mixed']),
});
export type NewMediaAlertProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (props: NewMediaAlertProps, locale?: string) => pick(strings, locale).subject(props);

export const previewProps = {
  recipientName: 'Grace',
  uploaderName: 'Charles',
  circleName: 'The Lovelace family',
  circleId: 'c_42',
  count: 12,
  kind: 'photo',
} satisfies NewMediaAlertProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./new-media-alert.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  // Non-essential: a one-click unsubscribe link, and no more of these to whoever used it.
  unsubscribe: { category: 'new-media' },
  policy: { priority: -10, maxAttempts: 3, ttl: '1 day' },
});
