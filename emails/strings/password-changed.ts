export interface PasswordChangedStrings {
  subject: string;
  preview: string;
  heading: string;
  greeting: (name: string | undefined) => string;
  body: (when: string) => string;
  sessions: string;
  notYou: string;
  action: string;
  fallback: string;
  footer: string;
}

export const strings: { en: PasswordChangedStrings } & Record<string, PasswordChangedStrings> = {
  en: {
    subject: 'Your password was changed',
    preview: 'A security notice about your account',
    heading: 'Your password was changed',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: (when) => `The password of your Circles account was changed on ${when}.`,
    sessions: 'Every device that was signed in has been signed out.',
    notYou: 'If you did not do this, reset your password now and check your account:',
    action: 'Reset my password',
    fallback: 'Or paste this link into your browser:',
    footer: 'Sent by Circles as a security notice. It needs no answer.',
  },
};
