// Someone added photos or videos to a circle: one email per other member.
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/new-media-alert.ts';
import { previewProps, type NewMediaAlertProps } from './new-media-alert.template.ts';

export default function NewMediaAlert({ recipientName, uploaderName, circleName, circleId, count, kind, baseUrl, locale, unsubscribeUrl }: NewMediaAlertProps & RenderContext) {
  const t = pick(strings, locale);
  const href = appLink(baseUrl, `/circles/${circleId}/media`);
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(circleName)} heading={t.heading(circleName)} footer={t.footer} unsubscribeUrl={unsubscribeUrl}>
      <Paragraph>{t.greeting(recipientName)}</Paragraph>
      <Paragraph>{t.body(uploaderName, t.what(count, kind), circleName)}</Paragraph>
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
    </Layout>
  );
}

NewMediaAlert.PreviewProps = previewProps;
