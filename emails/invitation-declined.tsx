// Tells the inviter that the invitation was declined. No token: it links to the circle.
import { z } from 'zod';
import { displayName, headerText, pathId } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/invitation-declined.ts';

export const schema = z.object({
  inviterName: displayName.optional(),
  inviteeEmail: headerText.max(254).pipe(z.email()),
  circleName: displayName,
  circleId: pathId,
});
export type InvitationDeclinedProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
export const headerProps = ['inviteeEmail', 'circleName'] as const;
export const subject = (props: InvitationDeclinedProps, locale?: string) => pick(strings, locale).subject(props);

export default function InvitationDeclined({ inviterName, inviteeEmail, circleName, circleId, baseUrl, locale }: InvitationDeclinedProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, `/circles/${circleId}`);
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview} heading={t.heading} footer={t.footer}>
      <Paragraph>{t.greeting(inviterName)}</Paragraph>
      <Paragraph>{t.body(inviteeEmail, circleName)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
    </Layout>
  );
}

InvitationDeclined.PreviewProps = {
  inviterName: 'Ada',
  inviteeEmail: 'charles@example.com',
  circleName: 'The Lovelace family',
  circleId: 'c_42',
} satisfies InvitationDeclinedProps;
