// POST /webhooks/mailjet: Mailjet's event callbacks (one event, or an array when
// grouped). Authenticated by a shared secret given as the Basic auth password of
// the webhook URL (https://mailroom:SECRET@host/webhooks/mailjet, as Mailjet's
// dashboard allows). Any malformed event rejects the whole batch with a 400 that
// names the field: nothing stored. Each event is matched to its outbox row (by
// CustomID, else by MessageID) or stored unmatched; an event received before (a
// replay) is ignored; a bounce or complaint about an address mailroom never mailed
// is stored but suppresses nothing (see src/suppression/provider-events.ts).
// mailroom_provider_events_total counts the events newly stored, never a replay.
// Replies never carry internal error text.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/connect.ts';
import { isValidAddress } from '../outbox/validate.ts';
import { countProviderEvent } from '../metrics/provider-events-counter.ts';
import { recordProviderEvents, type ProviderEvent } from '../suppression/provider-events.ts';

export interface WebhookOptions {
  db: Db;
  /** MAILJET_WEBHOOK_SECRET; without it the route answers 404 (not configured). */
  mailjetSecret?: string | undefined;
  /** Template -> opt-out category (the config's non-essential templates): an `unsub` event about such a row is an opt-out. */
  categories?: ReadonlyMap<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 9999-12-31T23:59:59Z: a later `time` is no date JavaScript or PostgreSQL can store. */
const LAST_TIME = 253_402_300_799;

// Mailjet's documented fields; others are kept in the stored payload as they came.
// `sent` is Mailjet's delivery report (the receiving server accepted the message):
// Mailjet sends no event called `delivered`.
const mailjetEvent = z
  .object({
    event: z.enum(['sent', 'open', 'click', 'bounce', 'spam', 'blocked', 'unsub']),
    time: z.number().int().positive().max(LAST_TIME, 'is not a Unix time in seconds'),
    email: z.string().refine(isValidAddress, 'is not an email address'),
    MessageID: z.union([z.number(), z.string()]).optional(),
    /** The older spelling of MessageID, in grouped `sent` events. */
    mj_message_id: z.union([z.number(), z.string()]).optional(),
    CustomID: z.string().optional(),
    hard_bounce: z.boolean().optional(),
    error: z.string().optional(),
    error_related_to: z.string().optional(),
    source: z.string().optional(),
    smtp_reply: z.string().optional(),
  })
  .loose();

const batch = z.array(mailjetEvent).min(1).max(1000);

/**
 * Mailjet's events are flat objects, grouped in an array at most: 2 levels, and a
 * little room for fields of their own. A body nested deeper is refused before it is
 * parsed; thousands of levels would otherwise overflow the stack further on.
 */
export const MAX_JSON_DEPTH = 16;

/** Whether JSON text nests arrays and objects deeper than `max` (strings are skipped). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

// A NUL, or half a surrogate pair: valid JSON, but no PostgreSQL text or jsonb holds it.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The path of the first key or string PostgreSQL could not store, if any (depth is bounded above). */
function unstorablePath(value: unknown, path: string[]): string[] | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, inner] of Object.entries(value)) {
    if (UNSTORABLE.test(key)) return [...path, key];
    const found = unstorablePath(inner, [...path, key]);
    if (found) return found;
  }
  return null;
}

/**
 * Mailjet sends MessageID as a JSON number above 2^53: JSON.parse would round it
 * and the stored id would name another message. Quote it before parsing.
 */
function parsePreservingMessageIds(text: string): unknown {
  return JSON.parse(text.replace(/"(MessageID|mj_message_id)"\s*:\s*(\d{16,})/g, '"$1":"$2"'));
}

function errorReply(reply: FastifyReply, status: number, code: string, message: string, field?: string) {
  return reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });
}

function secretMatches(header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const given = Buffer.from(decoded.slice(decoded.indexOf(':') + 1));
  const expected = Buffer.from(secret);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const webhookRoutes: FastifyPluginAsync<WebhookOptions> = async (app, { db, mailjetSecret, categories }) => {
  // Scoped to this plugin: other routes keep Fastify's own JSON parser.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
      return done(Object.assign(new Error(`the body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`), { statusCode: 400, code: 'too_deeply_nested' }), undefined);
    }
    try {
      done(null, parsePreservingMessageIds(body as string));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400, code: 'invalid_json' }), undefined);
    }
  });
  // The parser's refusals above, and anything unexpected, in this route's error shape;
  // a 500 says no more than that (the details go to the log).
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'mailjet webhook failed');
      return errorReply(reply, 500, 'internal', 'the events could not be recorded; nothing was stored, send them again');
    }
    const code = error.code && !error.code.startsWith('FST_') ? error.code
      : status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request';
    return errorReply(reply, status, code, error.message);
  });
  app.post('/webhooks/mailjet', { bodyLimit: 1024 * 1024 }, async (request, reply) => {
    if (!mailjetSecret) return errorReply(reply, 404, 'not_configured', 'the Mailjet webhook is off: set MAILJET_WEBHOOK_SECRET');
    if (!secretMatches(request.headers.authorization, mailjetSecret)) {
      reply.header('www-authenticate', 'Basic realm="mailroom webhooks"');
      return errorReply(reply, 401, 'unauthorized', 'missing or wrong webhook secret');
    }
    // One event, or an array of them when Mailjet groups events.
    const parsed = Array.isArray(request.body) ? batch.safeParse(request.body) : mailjetEvent.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return errorReply(reply, 400, 'invalid_payload', issue.message, issue.path.join('.') || 'body');
    }
    const received = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    const unstorable = unstorablePath(request.body, []);
    if (unstorable) {
      return errorReply(reply, 400, 'invalid_payload', 'contains a NUL character or a lone surrogate, which cannot be stored', unstorable.join('.'));
    }
    const events = received.map((e): ProviderEvent => {
      const messageId = e.MessageID ?? e.mj_message_id;
      return {
        provider: 'mailjet',
        event: e.event,
        address: e.email,
        outboxId: e.CustomID && UUID.test(e.CustomID) ? e.CustomID.toLowerCase() : null,
        providerMessageId: messageId === undefined || messageId === '' ? null : String(messageId),
        hard: e.event === 'bounce' ? (e.hard_bounce ?? false) : null,
        // Why: a bounce's or block's error, a complaint's feedback loop, a delivery's SMTP reply.
        reason: e.error ?? e.source ?? e.smtp_reply ?? null,
        occurredAt: new Date(e.time * 1000),
        payload: e,
      };
    });
    const result = await recordProviderEvents(db.kysely, events, categories);
    // Committed: count what is new (a replay adds nothing), by the row's template.
    for (const stored of result.events) countProviderEvent(stored.template, stored.event);
    const counts = { stored: result.stored, duplicates: result.duplicates, suppressed: result.suppressed.length, notMailed: result.notMailed, optedOut: result.optedOut };
    request.log.info({ ...counts, unmatched: result.events.filter((e) => e.outboxId === null).length }, 'mailjet events recorded');
    return counts;
  });
};
