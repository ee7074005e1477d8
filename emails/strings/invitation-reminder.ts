export interface InvitationReminderStrings {
  /** Fixed: no user text in a subject (issue 16). */
  subject: string;
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
    subject: 'Reminder: your invitation to a circle is waiting',
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
