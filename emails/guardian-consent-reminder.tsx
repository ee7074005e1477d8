// Reminds a guardian that a child's login waits for their consent.
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/guardian-consent-reminder.ts';
import { previewProps, type GuardianConsentReminderProps } from './guardian-consent-reminder.template.ts';

export default function GuardianConsentReminder({ token, guardianName, childName, expiresAt, baseUrl, locale, unsubscribeUrl }: GuardianConsentReminderProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/consent', { token });
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(childName)} heading={t.heading} footer={t.footer} unsubscribeUrl={unsubscribeUrl}>
      <Paragraph>{t.greeting(guardianName)}</Paragraph>
      <Paragraph>{t.body(childName)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
    </Layout>
  );
}

GuardianConsentReminder.PreviewProps = previewProps;
