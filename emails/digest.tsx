// New activity in the user's circles over a period, as a list per circle.
import { Link, Section, Text } from 'react-email';
import { z } from 'zod';
import { displayName, instant, pathId } from '../src/templates/schema-helpers.ts';
import { CallToAction, Layout, Paragraph } from './components/layout.tsx';
import { appLink } from './components/links.ts';
import { formatDateTime, pick, type RenderContext } from './components/render-context.ts';
import { strings } from './strings/digest.ts';
import { styles } from './styles.ts';

export const schema = z.object({
  name: displayName.optional(),
  periodStart: instant,
  periodEnd: instant,
  circles: z
    .array(
      z.object({
        id: pathId,
        name: displayName,
        items: z.array(z.string().min(1).max(300)).min(1).max(50),
      }),
    )
    .min(1)
    .max(50),
});
export type DigestProps = z.infer<typeof schema>;
export const sensitiveProps = [] as const;
export const headerProps = [] as const;
const itemCount = (props: DigestProps) => props.circles.reduce((n, c) => n + c.items.length, 0);
export const subject = (props: DigestProps, locale?: string) => pick(strings, locale).subject({ itemCount: itemCount(props) });

export default function Digest(props: DigestProps & RenderContext) {
  const { name, periodStart, periodEnd, circles, baseUrl, locale } = props;
  const t = pick(strings, locale);
  const href = appLink(baseUrl, '/activity');
  return (
    <Layout lang={locale ?? 'en'} preview={t.preview(itemCount(props), circles.length)} heading={t.heading} footer={t.footer}>
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

Digest.PreviewProps = {
  name: 'Ada',
  periodStart: '2026-11-21T00:00:00Z',
  periodEnd: '2026-11-28T00:00:00Z',
  circles: [
    { id: 'c_42', name: 'The Lovelace family', items: ['Charles added 12 photos', 'Sam joined the circle'] },
    { id: 'c_7', name: 'Grandparents', items: ['Grace posted a video'] },
  ],
} satisfies DigestProps;
