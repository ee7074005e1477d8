// Staging safety: a deployment whose database holds real people's addresses (a
// copy of production, a demo seeded from a customer) must not mail them. Two
// rules, applied by the worker at send time, whatever wrote the row:
// - redirectTo: every email goes to this one address instead; the original
//   recipient travels in the X-Mailroom-Original-To header and stays on the row,
//   and the attempt row records where it really went (delivery_attempt.sent_to).
// - allowedDomains: a recipient outside these domains is not sent to: the row ends
//   `suppressed` with the reason. With redirectTo too, such a recipient is
//   redirected instead, and recipients inside the list get their own email.
import { isValidAddress } from '../outbox/validate.ts';

export interface StagingRules {
  /** Send every email (with allowedDomains: every email to a recipient outside them) to this address. Default: none. */
  redirectTo: string | null;
  /** Only these recipient domains (exact, case-insensitive; a subdomain is another domain) get email. Default: all. */
  allowedDomains: string[] | null;
}

export const NO_STAGING_RULES: Readonly<StagingRules> = Object.freeze({ redirectTo: null, allowedDomains: null });

/** A domain name, lower-case (MAIL_ALLOWED_DOMAINS checks it too). */
export const DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Checks the rules (RangeError naming `staging.<field>`) and returns them with the domains lower-cased. */
export function resolveStagingRules(input: Partial<StagingRules> | undefined): StagingRules {
  const redirectTo = input?.redirectTo ?? null;
  if (redirectTo !== null && (typeof redirectTo !== 'string' || !isValidAddress(redirectTo))) {
    throw new RangeError(`startWorker: staging.redirectTo must be an email address (got ${JSON.stringify(redirectTo)})`);
  }
  const domains = input?.allowedDomains ?? null;
  if (domains !== null) {
    if (!Array.isArray(domains) || domains.length === 0) throw new RangeError('startWorker: staging.allowedDomains must be a non-empty list of domains');
    for (const domain of domains) {
      if (typeof domain !== 'string' || !DOMAIN.test(domain.toLowerCase())) {
        throw new RangeError(`startWorker: staging.allowedDomains holds ${JSON.stringify(domain)}, which is not a domain like example.com`);
      }
    }
  }
  return { redirectTo, allowedDomains: domains && [...new Set(domains.map((d) => d.toLowerCase()))] };
}

/** The domains outside which a row ends `suppressed` (the sender's SQL takes them); null: none is. */
export function suppressOutside(rules: StagingRules): string[] | null {
  return rules.redirectTo === null ? rules.allowedDomains : null;
}

/** Where an email to `recipient` goes, and the original recipient when it was redirected. */
export function routeRecipient(rules: StagingRules, recipient: string): { to: string; originalTo: string | null } {
  if (rules.redirectTo === null || isAllowed(rules, recipient)) return { to: recipient, originalTo: null };
  return { to: rules.redirectTo, originalTo: recipient };
}

function isAllowed(rules: StagingRules, recipient: string): boolean {
  if (rules.allowedDomains === null) return false;
  const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
  return rules.allowedDomains.includes(domain);
}

/** The start-up warning, one line (null when no rule is set). */
export function describeStagingRules(rules: StagingRules): string | null {
  const domains = rules.allowedDomains?.join(', ');
  if (rules.redirectTo && domains) return `staging: emails to recipients outside ${domains} are redirected to ${rules.redirectTo}`;
  if (rules.redirectTo) return `staging: every email is redirected to ${rules.redirectTo}; no recipient gets their own`;
  if (domains) return `staging: only recipients in ${domains} get email; the others end suppressed`;
  return null;
}
