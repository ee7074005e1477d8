// A pending invitation, a few days on: sent once per invitation.
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/invitation-reminder.ts';

export const schema = z.object({
  token,
  inviterName: displayName,
  circleName: displayName,
  invitedAt: instant.optional(),
  expiresAt: instant.optional(),
});
export type InvitationReminderProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = ['circleName'] as const;
export const subject = (props: InvitationReminderProps, locale?: string) => pick(strings, locale).subject(props);

export default function InvitationReminder({ token, inviterName, circleName, invitedAt, expiresAt, baseUrl, locale }: InvitationReminderProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/invitations/accept', { token });
  const invitedOn = invitedAt ? formatDateTime(invitedAt, locale) : undefined;
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(inviterName)} heading={t.heading} footer={t.footer}>
      <Paragraph>{t.body(inviterName, circleName, invitedOn)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
    </Layout>
  );
}

InvitationReminder.PreviewProps = {
  token: 'preview-reminder-token-01',
  inviterName: 'Ada Lovelace',
  circleName: 'The Lovelace family',
  invitedAt: '2026-11-25T18:00:00Z',
  expiresAt: '2026-12-02T18:00:00Z',
} satisfies InvitationReminderProps;
