// POST /webhooks/mailjet: Mailjet's event callbacks (one event, or an array when
// grouped). Authenticated by a shared secret given as the Basic auth password of
// the webhook URL (https://mailroom:SECRET@host/webhooks/mailjet, as Mailjet's
// dashboard allows). Any malformed event rejects the whole batch: nothing stored.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/connect.ts';
import { isValidAddress } from '../outbox/validate.ts';
import { recordProviderEvents, type ProviderEvent } from '../suppression/provider-events.ts';

export interface WebhookOptions {
  db: Db;
  /** MAILJET_WEBHOOK_SECRET; without it the route answers 404 (not configured). */
  mailjetSecret?: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Mailjet's documented fields; others are kept in the stored payload as they came.
const mailjetEvent = z
  .object({
    event: z.enum(['sent', 'open', 'click', 'bounce', 'spam', 'blocked', 'unsub']),
    time: z.number().int().positive(),
    email: z.string().refine(isValidAddress, 'is not an email address'),
    MessageID: z.union([z.number(), z.string()]).optional(),
    CustomID: z.string().optional(),
    hard_bounce: z.boolean().optional(),
    error: z.string().optional(),
    error_related_to: z.string().optional(),
    source: z.string().optional(),
  })
  .loose();

const batch = z.array(mailjetEvent).min(1).max(1000);

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

export const webhookRoutes: FastifyPluginAsync<WebhookOptions> = async (app, { db, mailjetSecret }) => {
  // Scoped to this plugin: other routes keep Fastify's own JSON parser.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parsePreservingMessageIds(body as string));
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined);
    }
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
    const events = received.map(
      (e): ProviderEvent => ({
        provider: 'mailjet',
        event: e.event,
        address: e.email,
        outboxId: e.CustomID && UUID.test(e.CustomID) ? e.CustomID.toLowerCase() : null,
        providerMessageId: e.MessageID === undefined ? null : String(e.MessageID),
        hard: e.event === 'bounce' ? (e.hard_bounce ?? false) : null,
        reason: e.error ?? e.source ?? null,
        occurredAt: new Date(e.time * 1000),
        payload: e,
      }),
    );
    const result = await recordProviderEvents(db.kysely, events);
    request.log.info({ events: result.stored, suppressed: result.suppressed.length }, 'mailjet events recorded');
    return { stored: result.stored, suppressed: result.suppressed.length };
  });
};
