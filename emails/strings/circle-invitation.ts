export interface CircleInvitationStrings {
  /** Fixed: the inviter's and the circle's names are user text, and an invitation goes to a stranger (issue 16). */
  subject: string;
  preview: (p: { inviterName: string; circleName: string }) => string;
  heading: (circleName: string) => string;
  body: (inviterName: string, circleName: string) => string;
  action: string;
  fallback: string;
  decline: string;
  expires: (when: string) => string;
  footer: string;
}

export const strings: { en: CircleInvitationStrings } & Record<string, CircleInvitationStrings> = {
  en: {
    subject: 'You are invited to join a circle on Circles',
    preview: ({ inviterName, circleName }) => `${inviterName} would like you to join ${circleName} on Circles`,
    heading: (circleName) => `Join ${circleName}`,
    body: (inviterName, circleName) =>
      `${inviterName} invited you to ${circleName}, a private circle on Circles where family members share news, photos and videos.`,
    action: 'Accept the invitation',
    fallback: 'Or paste this link into your browser:',
    decline: 'Not interested? Decline the invitation:',
    expires: (when) => `This invitation expires on ${when}.`,
    footer: 'Sent by Circles on behalf of a circle admin who entered this address.',
  },
};
