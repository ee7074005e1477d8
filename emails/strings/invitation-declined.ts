export interface InvitationDeclinedStrings {
  subject: (p: { inviteeEmail: string; circleName: string }) => string;
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
    subject: ({ inviteeEmail, circleName }) => `${inviteeEmail} declined your invitation to ${circleName}`,
    preview: 'An invitation you sent was declined',
    heading: 'Invitation declined',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: (inviteeEmail, circleName) => `${inviteeEmail} declined your invitation to join ${circleName}.`,
    action: 'Open the circle',
    fallback: 'Or paste this link into your browser:',
    footer: 'Sent by Circles because you invited this person.',
  },
};
