// The product's emails, as mailroom's config lists them (mailroom.config.ts).
// Priority: account security first (a reset is useless late), then confirmations,
// then invitations, then notifications nobody waits for. Each template's ttl: after
// it, a row ends `expired` unsent (a token email's own not_after may be sooner).
// Importing this loads no React: each component is loaded on first render.
import passwordReset from './password-reset.template.ts';
import passwordChanged from './password-changed.template.ts';
import verifyEmail from './verify-email.template.ts';
import resendVerification from './resend-verification.template.ts';
import childUpgradeVerify from './child-upgrade-verify.template.ts';
import circleInvitation from './circle-invitation.template.ts';
import guardianConsentReminder from './guardian-consent-reminder.template.ts';
import invitationReminder from './invitation-reminder.template.ts';
import invitationDeclined from './invitation-declined.template.ts';
import newMediaAlert from './new-media-alert.template.ts';
import digest from './digest.template.ts';

export const templates = {
  'password-reset': passwordReset,
  'password-changed': passwordChanged,
  'verify-email': verifyEmail,
  'resend-verification': resendVerification,
  'child-upgrade-verify': childUpgradeVerify,
  'circle-invitation': circleInvitation,
  'guardian-consent-reminder': guardianConsentReminder,
  'invitation-reminder': invitationReminder,
  'invitation-declined': invitationDeclined,
  'new-media-alert': newMediaAlert,
  digest: digest,
};
