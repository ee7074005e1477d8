// The frame every email shares: preview line, card, footer. Text only through
// React children, so user data is always escaped.
import type { ReactNode } from 'react';
import { Body, Button, Container, Head, Heading, Hr, Html, Link, Preview, Text } from 'react-email';
import { styles } from '../styles.ts';

/**
 * `unsubscribeUrl`: the worker's one-click link, given to the emails a template marks
 * `unsubscribe` (digests, alerts, reminders); shown in the footer, as the mail
 * client's own unsubscribe button may be hidden. These emails are in English only.
 */
export function Layout(props: { lang: string; preview: string; heading: string; footer: string; unsubscribeUrl?: string | undefined; children: ReactNode }) {
  return (
    <Html lang={props.lang}>
      <Head />
      <Preview>{props.preview}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Heading style={styles.heading}>{props.heading}</Heading>
          {props.children}
          <Hr style={styles.hr} />
          <Text style={styles.muted}>{props.footer}</Text>
          {props.unsubscribeUrl ? (
            <Text style={styles.muted} data-role="unsubscribe">
              Don't want these emails? <Link href={props.unsubscribeUrl}>Unsubscribe</Link> ({props.unsubscribeUrl})
            </Text>
          ) : null}
        </Container>
      </Body>
    </Html>
  );
}

export function Paragraph({ children }: { children: ReactNode }) {
  return <Text style={styles.text}>{children}</Text>;
}

export function Muted({ children }: { children: ReactNode }) {
  return <Text style={styles.muted}>{children}</Text>;
}

/**
 * The email's one call to action, then the same link spelled out for clients that
 * hide buttons (and for the plain-text part, which shows both).
 */
export function CallToAction({ href, label, fallback }: { href: string; label: string; fallback: string }) {
  return (
    <>
      <Button href={href} style={styles.button} data-role="primary-action">
        {label}
      </Button>
      <LinkLine href={href} label={fallback} />
    </>
  );
}

/** A secondary link, shown as its label and the URL itself. */
export function LinkLine({ href, label }: { href: string; label: string }) {
  return (
    <Text style={styles.muted}>
      {label} {href}
    </Text>
  );
}
