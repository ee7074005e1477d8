export interface GuardianConsentStrings {
  /** Fixed: no user text in a subject (issue 16). */
  subject: string;
  preview: (childName: string) => string;
  heading: string;
  greeting: (name: string | undefined) => string;
  body: (childName: string) => string;
  action: string;
  fallback: string;
  expires: (when: string) => string;
  footer: string;
}

export const strings: { en: GuardianConsentStrings } & Record<string, GuardianConsentStrings> = {
  en: {
    subject: "Reminder: a child's login is waiting for your consent",
    preview: (childName) => `${childName} cannot sign in until you give your consent`,
    heading: 'Your consent is still needed',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: (childName) =>
      `${childName}'s profile was given its own login, and as ${childName}'s guardian your consent is needed before it can be used.`,
    action: 'Review and give consent',
    fallback: 'Or paste this link into your browser:',
    expires: (when) => `This request expires on ${when}.`,
    footer: 'Sent by Circles to the guardian named on this child profile.',
  },
};
