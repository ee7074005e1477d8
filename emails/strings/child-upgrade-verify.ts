export interface ChildUpgradeStrings {
  /** Fixed: no user text in a subject (issue 16). */
  subject: string;
  preview: string;
  heading: (childName: string) => string;
  greeting: (childName: string) => string;
  body: (guardianName: string) => string;
  action: string;
  fallback: string;
  expires: (when: string) => string;
  ignore: string;
  footer: string;
}

export const strings: { en: ChildUpgradeStrings } & Record<string, ChildUpgradeStrings> = {
  en: {
    subject: 'Confirm the email address for your own login',
    preview: 'Your profile now has its own login: confirm this address to start using it',
    heading: (childName) => `Welcome to your own login, ${childName}`,
    greeting: (childName) => `Hi ${childName},`,
    body: (guardianName) =>
      `${guardianName} has given your profile its own login. Confirm that this email address is yours to sign in with it.`,
    action: 'Confirm my email address',
    fallback: 'Or paste this link into your browser:',
    expires: (when) => `This link expires on ${when}.`,
    ignore: 'If you were not expecting this, you can ignore this email and nothing will change.',
    footer: 'Sent by Circles because a guardian set up a login for this address.',
  },
};
