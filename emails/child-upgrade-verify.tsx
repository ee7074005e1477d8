// A child's profile gets its own login: the child's new address must be verified.
import { z } from 'zod';
import { displayName, instant, token } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/child-upgrade-verify.ts';

export const schema = z.object({ token, childName: displayName, guardianName: displayName, expiresAt: instant.optional() });
export type ChildUpgradeVerifyProps = z.infer<typeof schema>;
export const sensitiveProps = ['token'] as const;
export const headerProps = ['childName'] as const;
export const subject = (props: ChildUpgradeVerifyProps, locale?: string) => pick(strings, locale).subject(props);

export default function ChildUpgradeVerify({ token, childName, guardianName, expiresAt, baseUrl, locale }: ChildUpgradeVerifyProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/verify', { token });
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview} heading={t.heading(childName)} footer={t.footer}>
      <Paragraph>{t.greeting(childName)}</Paragraph>
      <Paragraph>{t.body(guardianName)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
      {expiresAt ? <Muted>{t.expires(formatDateTime(expiresAt, locale))}</Muted> : null}
      <Muted>{t.ignore}</Muted>
    </Layout>
  );
}

ChildUpgradeVerify.PreviewProps = {
  token: 'preview-child-token-0123',
  childName: 'Sam',
  guardianName: 'Ada Lovelace',
  expiresAt: '2026-12-03T09:30:00Z',
} satisfies ChildUpgradeVerifyProps;
