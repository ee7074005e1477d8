// A pending invitation, a few days on: sent once per invitation.
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/invitation-reminder.ts';
import { previewProps, type InvitationReminderProps } from './invitation-reminder.template.ts';

export default function InvitationReminder({ token, inviterName, circleName, invitedAt, expiresAt, baseUrl, locale, unsubscribeUrl }: InvitationReminderProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/invitations/accept', { token });
  const invitedOn = invitedAt ? formatDateTime(invitedAt, locale) : undefined;
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(inviterName)} heading={t.heading} footer={t.footer} unsubscribeUrl={unsubscribeUrl}>
      <Paragraph>{t.body(inviterName, circleName, invitedOn)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
    </Layout>
  );
}

InvitationReminder.PreviewProps = previewProps;
