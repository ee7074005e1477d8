// Sent at signup: a link that proves the address belongs to the user.
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/verify-email.ts';

export const schema = z.object({
  token,
  name: displayName.optional(),
  expiresAt: instant.optional(),
});
export type VerifyEmailProps = z.infer<typeof schema>;

/** Props that carry a secret: never logged, removed from the row once sent. */
export const sensitiveProps = ['token'] as const;
/** Props that reach a header: a line break there would be header injection. */
export const headerProps = ['name'] as const;
export const subject = (props: VerifyEmailProps, locale?: string) => pick(strings, locale).subject(props);

export default function VerifyEmail({ token, name, expiresAt, baseUrl, locale }: VerifyEmailProps & RenderContext) {
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

VerifyEmail.PreviewProps = {
  token: 'preview-token-0123456789',
  name: 'Ada',
  expiresAt: '2026-12-01T12:00:00Z',
} satisfies VerifyEmailProps;
