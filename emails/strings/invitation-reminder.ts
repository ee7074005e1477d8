export interface InvitationReminderStrings {
  subject: (p: { circleName: string }) => string;
  preview: (inviterName: string) => string;
  heading: string;
  body: (inviterName: string, circleName: string, invitedOn: string | undefined) => string;
  action: string;
  fallback: string;
  expires: (when: string) => string;
  footer: string;
}

export const strings: { en: InvitationReminderStrings } & Record<string, InvitationReminderStrings> = {
  en: {
    subject: ({ circleName }) => `Reminder: your invitation to ${circleName} is waiting`,
    preview: (inviterName) => `${inviterName} is still hoping you will join`,
    heading: 'Your invitation is still waiting',
    body: (inviterName, circleName, invitedOn) =>
      `${inviterName} invited you to join ${circleName}${invitedOn ? ` on ${invitedOn}` : ''}. You have not answered yet.`,
    action: 'Accept the invitation',
    fallback: 'Or paste this link into your browser:',
    expires: (when) => `The invitation expires on ${when}.`,
    footer: 'Sent by Circles once, as a reminder of a pending invitation.',
  },
};
