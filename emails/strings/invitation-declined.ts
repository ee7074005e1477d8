export interface InvitationDeclinedStrings {
  /** Fixed: the address and the circle's name are user text (issue 16). */
  subject: string;
  preview: string;
  heading: string;
  greeting: (name: string | undefined) => string;
  body: (inviteeEmail: string, circleName: string) => string;
  action: string;
  fallback: string;
  footer: string;
}

export const strings: { en: InvitationDeclinedStrings } & Record<string, InvitationDeclinedStrings> = {
  en: {
    subject: 'An invitation you sent was declined',
    preview: 'An invitation you sent was declined',
    heading: 'Invitation declined',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: (inviteeEmail, circleName) => `${inviteeEmail} declined your invitation to join ${circleName}.`,
    action: 'Open the circle',
    fallback: 'Or paste this link into your browser:',
    footer: 'Sent by Circles because you invited this person.',
  },
};
