// Tells the inviter that the invitation was declined. No token: it links to the circle.
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/invitation-declined.ts';
import { previewProps, type InvitationDeclinedProps } from './invitation-declined.template.ts';

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

InvitationDeclined.PreviewProps = previewProps;
