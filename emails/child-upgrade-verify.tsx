// A child's profile gets its own login: the child's new address must be verified.
import { CallToAction, Layout, Muted, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/child-upgrade-verify.ts';
import { previewProps, type ChildUpgradeVerifyProps } from './child-upgrade-verify.template.ts';

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

ChildUpgradeVerify.PreviewProps = previewProps;
