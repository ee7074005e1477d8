// What a template says about its envelope besides the body: who it is from (one of
// the senders the config declares), where replies go, extra X- headers, and tags
// the provider echoes back in its events. Checked when the template is declared,
// so a header-injection or a forged sender fails at start-up, not at a send.
import { isValidAddress } from '../outbox/validate.ts';

export interface EnvelopeOptions {
  /** The From line, `Name <address>` or an address: must be one of the config's `senders`. Default: the worker's `from` (MAIL_FROM). */
  from?: string;
  /** Where replies go, `Name <address>` or an address. Default: none (replies go to From). */
  replyTo?: string;
  /** Extra header lines: names `X-...` (not `X-Mailroom-...`), one-line values, 2 KiB in all. */
  headers?: Readonly<Record<string, string>>;
  /** Up to 10 tags (`a-z`, `0-9`, `_.-`, up to 64 characters): SMTP `X-Mailroom-Tags`, Mailjet `EventPayload`. */
  tags?: readonly string[];
}

export interface Envelope {
  readonly from: string | null;
  readonly replyTo: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
}

export const MAX_HEADER_BYTES = 2048;
const HEADER_NAME = /^X-[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
/** A provider tag; also what mailroom.enqueue() checks in SQL (migration 0019). */
export const TAG = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export const MAX_TAGS = 10;
const LINE_BREAK_OR_CONTROL = /[\x00-\x1f\x7f]/;

/**
 * `Name <address>` or `address`, spaces around it allowed: the address, or null when
 * the line is neither. The same rule as mailroom.is_valid_mailbox() in SQL (0019).
 */
export function addressOf(mailbox: string): string | null {
  if (typeof mailbox !== 'string' || LINE_BREAK_OR_CONTROL.test(mailbox)) return null;
  const match = /^ *(?:"?([^"<>]*)"? *)?<([^<>]+)> *$/.exec(mailbox);
  const address = match ? match[2]! : mailbox.replace(/^ +| +$/g, '');
  return isValidAddress(address) ? address : null;
}

/** Checks a template's envelope; `fail` throws the caller's error with the message. */
export function resolveEnvelope(options: EnvelopeOptions | undefined, fail: (message: string) => never): Envelope {
  if (options === undefined) return EMPTY_ENVELOPE;
  if (options === null || typeof options !== 'object') fail('envelope must be an object');
  const mailbox = (field: 'from' | 'replyTo') => {
    const value = options[field];
    if (value === undefined) return null;
    if (addressOf(value) === null) fail(`envelope.${field} must be one line, "Name <address>" or an address (got ${JSON.stringify(value)})`);
    return value.trim();
  };
  const headers = options.headers ?? {};
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) fail('envelope.headers must be an object of header name to value');
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || /^x-mailroom-/i.test(name)) fail(`envelope.headers: "${name}" must be an X- header name (letters, digits, -), not X-Mailroom-`);
    if (typeof value !== 'string' || LINE_BREAK_OR_CONTROL.test(value)) fail(`envelope.headers.${name} must be one line of text, without control characters`);
    bytes += Buffer.byteLength(`${name}: ${value}\r\n`);
  }
  if (bytes > MAX_HEADER_BYTES) fail(`envelope.headers are ${bytes} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  const tags = options.tags ?? [];
  if (!Array.isArray(tags) || tags.length > 10) fail('envelope.tags must be a list of at most 10 tags');
  for (const tag of tags) if (typeof tag !== 'string' || !TAG.test(tag)) fail(`envelope.tags: ${JSON.stringify(tag)} must be 1-64 of a-z, 0-9, _ . - (starting with a letter or digit)`);
  return Object.freeze({ from: mailbox('from'), replyTo: mailbox('replyTo'), headers: Object.freeze({ ...headers }), tags: Object.freeze([...tags]) });
}

export const EMPTY_ENVELOPE: Envelope = Object.freeze({ from: null, replyTo: null, headers: Object.freeze({}), tags: Object.freeze([]) });
