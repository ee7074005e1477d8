export interface PasswordResetStrings {
  subject: string;
  preview: string;
  heading: string;
  greeting: (name: string | undefined) => string;
  body: string;
  action: string;
  fallback: string;
  expires: (when: string) => string;
  ignore: string;
  footer: string;
}

export const strings: { en: PasswordResetStrings } & Record<string, PasswordResetStrings> = {
  en: {
    subject: 'Reset your password',
    preview: 'A link to choose a new password',
    heading: 'Reset your password',
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: 'Someone asked to reset the password of your Circles account. Open the link below to choose a new one.',
    action: 'Choose a new password',
    fallback: 'Or paste this link into your browser:',
    expires: (when) => `This link can be used once and expires on ${when}.`,
    ignore: 'If you did not ask for this, ignore this email: your password stays as it is.',
    footer: 'Sent by Circles because a password reset was requested for this address.',
  },
  fr: {
    subject: 'Réinitialisez votre mot de passe',
    preview: 'Un lien pour choisir un nouveau mot de passe',
    heading: 'Réinitialisez votre mot de passe',
    greeting: (name) => (name ? `Bonjour ${name},` : 'Bonjour,'),
    body: "Quelqu'un a demandé à réinitialiser le mot de passe de votre compte Circles. Ouvrez le lien ci-dessous pour en choisir un nouveau.",
    action: 'Choisir un nouveau mot de passe',
    fallback: 'Ou collez ce lien dans votre navigateur :',
    expires: (when) => `Ce lien ne fonctionne qu'une fois et expire le ${when}.`,
    ignore: "Si vous n'avez rien demandé, ignorez cet e-mail : votre mot de passe reste inchangé.",
    footer: 'Envoyé par Circles parce qu\'une réinitialisation du mot de passe a été demandée pour cette adresse.',
  },
};
