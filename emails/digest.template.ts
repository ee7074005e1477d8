// New activity in the user's circles over a period, as a list per circle.
import { defineTemplate } from 'mailroom';
import { z } from 'zod';
import { displayName, instant, pathId } from './components/schema.ts';
import { pick } from './components/render-context.ts';
import { strings } from './strings/digest.ts';

export const schema = z.object({
  name: displayName.optional(),
  periodStart: instant,
  periodEnd: instant,
  circles: z
    .array(
      z.object({
        id: pathId,
        name: displayName,
        items: z.array(z.string().min(1).max(300)).min(1).max(50),
      }),
    )
    .min(1)
    .max(50),
});
export type DigestProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
export const headerProps = [] as const;
export const itemCount = (props: DigestProps) => props.circles.reduce((n, c) => n + c.items.length, 0);
export const subject = (props: DigestProps, locale?: string) => pick(strings, locale).subject({ itemCount: itemCount(props) });

export const previewProps = {
  name: 'Ada',
  periodStart: '2026-11-21T00:00:00Z',
  periodEnd: '2026-11-28T00:00:00Z',
  circles: [
    { id: 'c_42', name: 'The Lovelace family', items: ['Charles added 12 photos', 'Sam joined the circle'] },
    { id: 'c_7', name: 'Grandparents', items: ['Grace posted a video'] },
  ],
} satisfies DigestProps;

export default defineTemplate({
  schema,
  subject,
  // Loaded on first render: a process that only enqueues never loads React.
  loadComponent: () => import('./digest.tsx'),
  previewProps,
  sensitiveProps,
  headerProps,
  // Non-essential: a one-click unsubscribe link, and no more of these to whoever used it.
  unsubscribe: { category: 'digest' },
  policy: { priority: -20, maxAttempts: 3, ttl: '1 day' },
});
