export interface ResendVerificationStrings {
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

export const strings: { en: ResendVerificationStrings } & Record<string, ResendVerificationStrings> = {
  en: {
    subject: 'Your new confirmation link',
    preview: 'Here is the new link you asked for',
    heading: 'Here is your new confirmation link',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: 'You asked for a new link to confirm your email address. Links sent before this one no longer work.',
    action: 'Confirm email address',
    fallback: 'Or paste this link into your browser:',
    expires: (when) => `This link expires on ${when}.`,
    ignore: 'If you did not ask for this, you can ignore this email.',
    footer: 'Sent by Circles because a new confirmation link was requested for this address.',
  },
};
