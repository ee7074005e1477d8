// Reminds a guardian that a child's login waits for their consent.
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/guardian-consent-reminder.ts';

export const schema = z.object({ token, guardianName: displayName.optional(), childName: displayName, expiresAt: instant.optional() });
export type GuardianConsentReminderProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = ['childName'] as const;
export const subject = (props: GuardianConsentReminderProps, locale?: string) => pick(strings, locale).subject(props);

export default function GuardianConsentReminder({ token, guardianName, childName, expiresAt, baseUrl, locale }: GuardianConsentReminderProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/consent', { token });
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(childName)} heading={t.heading} footer={t.footer}>
      <Paragraph>{t.greeting(guardianName)}</Paragraph>
      <Paragraph>{t.body(childName)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
    </Layout>
  );
}

GuardianConsentReminder.PreviewProps = {
  token: 'preview-consent-token-012',
  guardianName: 'Ada',
  childName: 'Sam',
  expiresAt: '2026-12-04T09:00:00Z',
} satisfies GuardianConsentReminderProps;
