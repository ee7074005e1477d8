// Every email, rendered from its PreviewProps as the worker renders it: the
// subject, the deep link and the key facts, in both the HTML and the text part.
import { describe, expect, it } from 'vitest';
import { catalogue, templateNames, type TemplateName } from '../support/product.ts';
import { renderEmail } from '../support/product.ts';

const BASE = 'https://circles.example';

interface Expectation {
  subject: string;
  link: string;
  facts: string[];
}

const expected: Record<TemplateName, Expectation> = {
  'verify-email': {
    subject: 'Confirm your email address',
    link: `${BASE}/verify?token=preview-token-0123456789`,
    facts: ['Hi Ada', 'expires on December 1, 2026 at 12:00 PM UTC'],
  },
  'resend-verification': {
    subject: 'Your new confirmation link',
    link: `${BASE}/verify?token=preview-resend-token-0123`,
    facts: ['Links sent before this one no longer work', 'expires on December 1, 2026'],
  },
  'child-upgrade-verify': {
    subject: 'Confirm the email address for your own login',
    link: `${BASE}/verify?token=preview-child-token-0123`,
    facts: ['Ada Lovelace has given your profile its own login', 'expires on December 3, 2026 at 9:30 AM UTC'],
  },
  'circle-invitation': {
    subject: 'You are invited to join a circle on Circles',
    link: `${BASE}/invitations/accept?token=preview-invite-token-0123`,
    facts: [`${BASE}/invitations/decline?token=preview-invite-token-0123`, 'expires on December 5, 2026 at 6:00 PM UTC'],
  },
  'invitation-reminder': {
    subject: 'Reminder: your invitation to a circle is waiting',
    link: `${BASE}/invitations/accept?token=preview-reminder-token-01`,
    facts: ['Ada Lovelace invited you to join The Lovelace family on November 25, 2026', 'expires on December 2, 2026'],
  },
  'invitation-declined': {
    subject: 'An invitation you sent was declined',
    link: `${BASE}/circles/c_42`,
    facts: ['charles@example.com declined your invitation to join The Lovelace family'],
  },
  'password-reset': {
    subject: 'Reset your password',
    link: `${BASE}/reset-password?token=preview-reset-token-01234`,
    facts: ['can be used once and expires on November 28, 2026 at 1:00 PM UTC', 'your password stays as it is'],
  },
  'password-changed': {
    subject: 'Your password was changed',
    link: `${BASE}/forgot-password`,
    facts: ['was changed on November 28, 2026 at 12:34 PM UTC', 'signed out'],
  },
  'guardian-consent-reminder': {
    subject: "Reminder: a child's login is waiting for your consent",
    link: `${BASE}/consent?token=preview-consent-token-012`,
    facts: ["as Sam's guardian your consent is needed", 'expires on December 4, 2026'],
  },
  digest: {
    subject: 'Your circles this week: 3 new updates',
    link: `${BASE}/activity`,
    facts: ['Charles added 12 photos', 'Sam joined the circle', 'Grace posted a video', `${BASE}/circles/c_7`, 'November 21, 2026'],
  },
  'new-media-alert': {
    subject: 'New photos in your circle',
    link: `${BASE}/circles/c_42/media`,
    facts: ['Charles added 12 photos to The Lovelace family'],
  },
};

/** What the HTML shows a reader: entities decoded, as a browser would. */
const visible = (html: string) =>
  html.replace(/&amp;/g, '&').replace(/&#x27;|&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

describe('every template', () => {
  it('has an expectation here', () => {
    expect(Object.keys(expected).sort()).toEqual([...templateNames].sort());
  });

  for (const name of templateNames) {
    it(`${name}: subject, deep link and key facts in HTML and text`, async () => {
      const want = expected[name];
      const email = await renderEmail(name, catalogue[name].previewProps, { baseUrl: BASE });
      expect(email.subject).toBe(want.subject);
      // The main link is the primary action, and the text part spells it out.
      expect(email.html).toContain(`href="${want.link.replace(/&/g, '&amp;')}"`);
      expect(email.html).toMatch(/data-role="primary-action"/);
      expect(email.text).toContain(want.link);
      for (const fact of want.facts) {
        expect(visible(email.html), `${name} HTML: ${fact}`).toContain(fact);
        expect(email.text, `${name} text: ${fact}`).toContain(fact);
      }
      // Never pretty-printed in the send path; the text part is prose, not markup.
      expect(email.html).not.toMatch(/\n\s+</);
      expect(email.text).not.toMatch(/<[a-z]/i);
    });
  }
});

describe('user data', () => {
  it('is escaped: a circle named <script>alert(1)</script> renders as text', async () => {
    const evil = '<script>alert(1)</script>';
    const email = await renderEmail(
      'circle-invitation',
      { token: 'token-0123456789abcdef', inviterName: 'Mallory "<b>"', circleName: evil },
      { baseUrl: BASE },
    );
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<b>');
    expect(email.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(email.text).toContain(evil); // plain text shows it literally, which is harmless there
    expect(email.subject).toBe('You are invited to join a circle on Circles'); // no user text in the subject
  });

  it('cannot break a line in a name, whatever header it might reach', async () => {
    await expect(
      renderEmail('circle-invitation', { token: 'token-0123456789abcdef', inviterName: 'A\r\nBcc: x@evil.test', circleName: 'C' }),
    ).rejects.toThrow(/props\.inviterName/);
  });
});

// Issue 16: a subject is a fixed string per locale. Names of people and circles (and
// an address the inviter typed) are user text: in a subject they let anyone mail
// strangers a line of their own, and reach terminals that print subjects.
describe('subjects carry no user text', () => {
  const MARKERS = ['Mallory \u001b[2J <b>BUY NOW</b> at evil.example', 'mallory@evil.example'];

  /** previewProps with one string leaf (at `path`) replaced by a marker its schema accepts; undefined if none is. */
  function withMarker(props: unknown, path: (string | number)[], schema: { safeParse(v: unknown): { success: boolean } }) {
    for (const marker of MARKERS) {
      const copy = structuredClone(props) as Record<string | number, any>;
      let at = copy;
      for (const key of path.slice(0, -1)) at = at[key];
      at[path.at(-1)!] = marker;
      if (schema.safeParse(copy).success) return copy;
    }
    return undefined;
  }

  function stringLeaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
    if (typeof value === 'string') return [path];
    if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, v]) => stringLeaves(v, [...path, Array.isArray(value) ? Number(key) : key]));
    return [];
  }

  for (const name of templateNames) {
    it(`${name}: the same subject whatever the text props say`, async () => {
      const { previewProps, schema } = catalogue[name] as unknown as { previewProps: unknown; schema: { safeParse(v: unknown): { success: boolean } } };
      let tried = 0;
      for (const path of stringLeaves(previewProps)) {
        const props = withMarker(previewProps, path, schema);
        if (!props) continue; // a token, an instant, an id: not free text
        tried++;
        for (const locale of [undefined, 'fr']) {
          const email = await renderEmail(name, props, { baseUrl: BASE, ...(locale ? { locale } : {}) });
          expect(email.subject, `${name} ${path.join('.')} (${locale ?? 'en'})`).not.toMatch(/Mallory|mallory|BUY/);
          if (!locale) expect(email.subject).toBe(expected[name].subject);
        }
      }
      if (['password-reset', 'password-changed', 'resend-verification'].includes(name)) return;
      expect(tried, `${name} has free-text props to try`).toBeGreaterThan(0);
    });
  }
});

describe('locales', () => {
  it('renders verify-email and password-reset in French when the row says fr', async () => {
    const verify = await renderEmail('verify-email', catalogue['verify-email'].previewProps, { baseUrl: BASE, locale: 'fr' });
    expect(verify.subject).toBe('Confirmez votre adresse e-mail');
    expect(verify.html).toContain('lang="fr"');
    expect(verify.text).toContain('Ce lien expire le 1 décembre 2026');
    expect(verify.text).toContain(`${BASE}/verify?token=preview-token-0123456789`);

    const reset = await renderEmail('password-reset', catalogue['password-reset'].previewProps, { baseUrl: BASE, locale: 'fr' });
    expect(reset.subject).toBe('Réinitialisez votre mot de passe');
    expect(reset.text).toContain('expire le 28 novembre 2026 à 13:00 UTC');
  });

  it('falls back to English for a locale without strings, and to the language for a regional tag', async () => {
    const de = await renderEmail('password-reset', catalogue['password-reset'].previewProps, { baseUrl: BASE, locale: 'de' });
    expect(de.subject).toBe('Reset your password');
    const frCA = await renderEmail('password-reset', catalogue['password-reset'].previewProps, { baseUrl: BASE, locale: 'fr-CA' });
    expect(frCA.subject).toBe('Réinitialisez votre mot de passe');
  });
});
