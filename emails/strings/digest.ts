export interface DigestStrings {
  subject: (p: { itemCount: number }) => string;
  preview: (itemCount: number, circleCount: number) => string;
  heading: string;
  greeting: (name: string | undefined) => string;
  period: (from: string, to: string) => string;
  circleLink: string;
  action: string;
  fallback: string;
  footer: string;
}

export const strings: { en: DigestStrings } & Record<string, DigestStrings> = {
  en: {
    subject: ({ itemCount }) => `Your circles this week: ${itemCount} new ${itemCount === 1 ? 'update' : 'updates'}`,
    preview: (itemCount, circleCount) =>
      `${itemCount} new ${itemCount === 1 ? 'update' : 'updates'} in ${circleCount} ${circleCount === 1 ? 'circle' : 'circles'}`,
    heading: 'What happened in your circles',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    period: (from, to) => `From ${from} to ${to}:`,
    circleLink: 'Open',
    action: 'See all activity',
    fallback: 'Or paste this link into your browser:',
    footer: 'Sent by Circles once a week when your circles had new activity.',
  },
};
