// Sent at signup (and on "resend"): a link that proves the address belongs to the user.
import { Body, Button, Container, Head, Heading, Html, Preview, Text } from 'react-email';
import { z } from 'zod';
import { headerText } from '../src/templates/schema-helpers.ts';
import { styles } from './styles.ts';

export const schema = z.object({
  name: headerText.max(100).optional(),
  verifyUrl: z.url({ protocol: /^https?$/ }),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export type VerifyEmailProps = z.infer<typeof schema>;

/** Props that carry a token: never logged, scrubbed from the row once sent. */
export const sensitiveProps = ['verifyUrl'] as const;

export const subject = (props: VerifyEmailProps) =>
  props.name ? `${props.name}, confirm your email address` : 'Confirm your email address';

export default function VerifyEmail({ name, verifyUrl, expiresAt }: VerifyEmailProps) {
  return (
    <Html lang="en">
      <Head />
      <Preview>Confirm your email address to finish signing up</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Heading style={styles.heading}>Confirm your email address</Heading>
          <Text style={styles.text}>{name ? `Hi ${name},` : 'Hi,'}</Text>
          <Text style={styles.text}>Please confirm that this is your email address by opening the link below.</Text>
          <Button href={verifyUrl} style={styles.button}>
            Confirm email address
          </Button>
          <Text style={styles.text}>Or paste this link into your browser: {verifyUrl}</Text>
          {expiresAt ? (
            <Text style={styles.muted}>This link expires on {new Date(expiresAt).toUTCString()}.</Text>
          ) : null}
          <Text style={styles.muted}>If you did not sign up, you can ignore this email.</Text>
        </Container>
      </Body>
    </Html>
  );
}

VerifyEmail.PreviewProps = {
  name: 'Ada',
  verifyUrl: 'http://localhost:3000/verify?token=preview-token',
  expiresAt: '2026-12-01T12:00:00Z',
} satisfies VerifyEmailProps;
