// New activity in the user's circles over a period, as a list per circle.
import { Link, Section, Text } from 'react-email';
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/digest.ts';
import { styles } from './styles.ts';
import { previewProps, itemCount, type DigestProps } from './digest.template.ts';

export default function Digest(props: DigestProps & RenderContext) {
  const { name, periodStart, periodEnd, circles, baseUrl, locale, unsubscribeUrl } = props;
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/activity');
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(itemCount(props), circles.length)} heading={t.heading} footer={t.footer} unsubscribeUrl={unsubscribeUrl}>
      <Paragraph>{t.greeting(name)}</Paragraph>
      <Paragraph>{t.period(formatDateTime(periodStart, locale), formatDateTime(periodEnd, locale))}</Paragraph>
      {circles.map((circle) => (
        <Section key={circle.id}>
          <Text style={{ ...styles.text, fontWeight: 'bold', marginBottom: 0 }}>
            {circle.name} (<Link href={appLink(baseUrl, `/circles/${circle.id}`)}>{t.circleLink}</Link>)
          </Text>
          <ul style={styles.list}>
            {circle.items.map((item, i) => (
              <li key={i}>{item}</li>
            ))}
          </ul>
        </Section>
      ))}
      <CallToAction href={href} label={t.action} fallback={t.fallback} />
    </Layout>
  );
}

Digest.PreviewProps = previewProps;
