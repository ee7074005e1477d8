// Security notice after a password change; points to the reset flow in case it was not the user.
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/password-changed.ts';
import { previewProps, type PasswordChangedProps } from './password-changed.template.ts';

export default function PasswordChanged({ name, changedAt, baseUrl, locale }: PasswordChangedProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/forgot-password');
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview} heading={t.heading} footer={t.footer}>
      <Paragraph>{t.greeting(name)}</Paragraph>
      <Paragraph>{t.body(formatDateTime(changedAt, locale))}</Paragraph>
      <Paragraph>{t.sessions}</Paragraph>
      <Paragraph>{t.notYou}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
    </Layout>
  );
}

PasswordChanged.PreviewProps = previewProps;
