// Security notice after a password change; points to the reset flow in case it was not the user.
import { z } from 'zod';
import { displayName, instant } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/password-changed.ts';

export const schema = z.object({ name: displayName.optional(), changedAt: instant });
export type PasswordChangedProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
export const headerProps = [] as const;
export const subject = (_props: PasswordChangedProps, locale?: string) => pick(strings, locale).subject;

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

PasswordChanged.PreviewProps = { name: 'Ada', changedAt: '2026-11-28T12:34:00Z' } satisfies PasswordChangedProps;
