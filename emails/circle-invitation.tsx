// A circle admin invites someone: accept or decline with the same token.
import { CallToAction, Layout, LinkLine, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/circle-invitation.ts';
import { previewProps, type CircleInvitationProps } from './circle-invitation.template.ts';

export default function CircleInvitation(props: CircleInvitationProps & RenderContext) {
  const { token, inviterName, circleName, expiresAt, baseUrl, locale } = props;
  const t = pick(strings, locale);
  const accept = appLink(baseUrl, '/invitations/accept', { token });
  const decline = appLink(baseUrl, '/invitations/decline', { token });
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(props)} heading={t.heading(circleName)} footer={t.footer}>
      <Paragraph>{t.body(inviterName, circleName)}</Paragraph>
      <CallToAction href={accept} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
      <LinkLine href={decline} label={t.decline} />
    </Layout>
  );
}

CircleInvitation.PreviewProps = previewProps;
