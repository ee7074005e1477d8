// Someone added photos or videos to a circle: one email per other member.
import { z } from 'zod';
import { displayName, pathId } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { pick, type RenderContext } from './components/render-context.ts';
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
export const headerProps = ['uploaderName', 'circleName'] as const;
export const subject = (props: NewMediaAlertProps, locale?: string) => pick(strings, locale).subject(props);

export default function NewMediaAlert({ recipientName, uploaderName, circleName, circleId, count, kind, baseUrl, locale }: NewMediaAlertProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, `/circles/${circleId}/media`);
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(circleName)} heading={t.heading(circleName)} footer={t.footer}>
      <Paragraph>{t.greeting(recipientName)}</Paragraph>
      <Paragraph>{t.body(uploaderName, t.what(count, kind), circleName)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
    </Layout>
  );
}

NewMediaAlert.PreviewProps = {
  recipientName: 'Grace',
  uploaderName: 'Charles',
  circleName: 'The Lovelace family',
  circleId: 'c_42',
  count: 12,
  kind: 'photo',
} satisfies NewMediaAlertProps;
