// The words of verify-email, per locale. A new language is a new entry here; the
// component does not change.
export interface VerifyEmailStrings {
  /** Fixed: no user text in a subject (issue 16); the name is in the greeting. */
  subject: string;
  preview: string;
  heading: string;
  greeting: (name: string | undefined) => string;
  body: string;
  action: string;
  fallback: string;
  expires: (when: string) => string;
  ignore: string;
  footer: string;
}

export const strings: { en: VerifyEmailStrings } & Record<string, VerifyEmailStrings> = {
  en: {
    subject: 'Confirm your email address',
    preview: 'Confirm your email address to finish signing up',
    heading: 'Confirm your email address',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: 'Please confirm that this is your email address by opening the link below.',
    action: 'Confirm email address',
    fallback: 'Or paste this link into your browser:',
    expires: (when) => `This link expires on ${when}.`,
    ignore: 'If you did not sign up, you can ignore this email.',
    footer: 'Sent by Circles because someone signed up with this address.',
  },
  fr: {
    subject: 'Confirmez votre adresse e-mail',
    preview: 'Confirmez votre adresse e-mail pour terminer votre inscription',
    heading: 'Confirmez votre adresse e-mail',
    greeting: (name) => (name ? `Bonjour ${name},` : 'Bonjour,'),
    body: 'Merci de confirmer que cette adresse e-mail est bien la vôtre en ouvrant le lien ci-dessous.',
    action: "Confirmer l'adresse e-mail",
    fallback: 'Ou collez ce lien dans votre navigateur :',
    expires: (when) => `Ce lien expire le ${when}.`,
    ignore: "Si vous ne vous êtes pas inscrit, vous pouvez ignorer cet e-mail.",
    footer: "Envoyé par Circles parce que quelqu'un s'est inscrit avec cette adresse.",
  },
};
