// Sent at signup: a link that proves the address belongs to the user.
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/verify-email.ts';
import { previewProps, type VerifyEmailProps } from './verify-email.template.ts';

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

VerifyEmail.PreviewProps = previewProps;
