// Sent when a user asks again for the confirmation link ("resend verification").
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/resend-verification.ts';

export const schema = z.object({ token, name: displayName.optional(), expiresAt: instant.optional() });
export type ResendVerificationProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = [] as const;
export const subject = (_props: ResendVerificationProps, locale?: string) => pick(strings, locale).subject;

export default function ResendVerification({ token, name, expiresAt, baseUrl, locale }: ResendVerificationProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/verify', { token });
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview} heading={t.heading} footer={t.footer}>
      <Paragraph>{t.greeting(name)}</Paragraph>
      <Paragraph>{t.body}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
      <Muted>{t.ignore}</Muted>
    </Layout>
  );
}

ResendVerification.PreviewProps = {
  token: 'preview-resend-token-0123',
  name: 'Ada',
  expiresAt: '2026-12-01T12:00:00Z',
} satisfies ResendVerificationProps;
