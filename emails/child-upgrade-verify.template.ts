// A child's profile gets its own login: the child's new address must be verified.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, token } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/child-upgrade-verify.ts';

export const schema = z.object({ token, childName: displayName, guardianName: displayName, expiresAt: instant.optional() });
export type ChildUpgradeVerifyProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
// No prop reaches a header: the subject is a fixed string per locale (issue 16).
export const headerProps = [] as const;
export const subject = (_props: ChildUpgradeVerifyProps, locale?: string) => pick(strings, locale).subject;

export const previewProps = {
  token: 'preview-child-token-0123',
  childName: 'Sam',
  guardianName: 'Ada Lovelace',
  expiresAt: '2026-12-03T09:30:00Z',
} satisfies ChildUpgradeVerifyProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./child-upgrade-verify.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  policy: { priority: 20, maxAttempts: 8, ttl: '2 days' },
});
