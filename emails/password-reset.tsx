// A single-use link to choose a new password. It expires soon, and says when.
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/password-reset.ts';

export const schema = z.object({ token, name: displayName.optional(), expiresAt: instant });
export type PasswordResetProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = [] as const;
export const subject = (_props: PasswordResetProps, locale?: string) => pick(strings, locale).subject;

export default function PasswordReset({ token, name, expiresAt, baseUrl, locale }: PasswordResetProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/reset-password', { token });
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview} heading={t.heading} footer={t.footer}>
      <Paragraph>{t.greeting(name)}</Paragraph>
      <Paragraph>{t.body}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted>
      <Muted>{t.ignore}</Muted>
    </Layout>
  );
}

PasswordReset.PreviewProps = {
  token: 'preview-reset-token-01234',
  name: 'Ada',
  expiresAt: '2026-11-28T13:00:00Z',
} satisfies PasswordResetProps;
