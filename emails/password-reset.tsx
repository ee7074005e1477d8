// A single-use link to choose a new password. It expires soon, and says when.
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/password-reset.ts';
import { previewProps, type PasswordResetProps } from './password-reset.template.ts';

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

PasswordReset.PreviewProps = previewProps;
