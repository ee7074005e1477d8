// A circle admin invites someone: accept or decline with the same token.
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, LinkLine, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/circle-invitation.ts';

export const schema = z.object({ token, inviterName: displayName, circleName: displayName, expiresAt: instant.optional() });
export type CircleInvitationProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = ['inviterName', 'circleName'] as const;
export const subject = (props: CircleInvitationProps, locale?: string) => pick(strings, locale).subject(props);

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

CircleInvitation.PreviewProps = {
  token: 'preview-invite-token-0123',
  inviterName: 'Ada Lovelace',
  circleName: 'The Lovelace family',
  expiresAt: '2026-12-05T18:00:00Z',
} satisfies CircleInvitationProps;
