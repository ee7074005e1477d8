// The one-click unsubscribe endpoint (RFC 8058), served by `mailroom serve`:
//   POST /unsubscribe/<category>/<token>  records the opt-out: what a mail client's
//        unsubscribe button sends (body List-Unsubscribe=One-Click), and the page's button.
//   GET  the same URL shows a page with that button and changes nothing: mail
//        scanners and link previews fetch every link in a message, and must not
//        unsubscribe anyone by doing so.
// No login and no cookie: the sealed token is the proof (link.ts). A bad token gets
// the same 400 whatever is wrong with it, so nothing can be learnt by probing.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { readUnsubscribeToken } from './link.ts';
import { addOptOut, isOptedOut } from './opt-outs.ts';

export interface UnsubscribeRoutesOptions {
  pool: pg.Pool;
  /** UNSUBSCRIBE_SECRET: the worker's, or no link it made can be read. */
  secret: string;
}

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:.375rem;background:#1d4ed8;color:#fff;cursor:pointer}';
const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

type Params = { category: string; token: string };

export async function unsubscribeRoutes(app: FastifyInstance, options: UnsubscribeRoutesOptions): Promise<void> {
  // What mail clients send (RFC 8058 allows both); the body itself is not needed.
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 4096 }, (_request, _body, done) => done(null, null));
  }
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('cache-control', 'no-store');
    // The token is in the URL: never hand it to another site.
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  const read = (request: FastifyRequest<{ Params: Params }>) => readUnsubscribeToken(options.secret, request.params.category, request.params.token);
  const invalid = (reply: FastifyReply) =>
    page(reply.code(400), 'This link does not work', '<p>This unsubscribe link is not valid: it may have been cut short or changed. Use the link in the email itself, or reply to the email and ask.</p>');

  app.get<{ Params: Params }>('/unsubscribe/:category/:token', async (request, reply) => {
    const address = read(request);
    if (!address) return invalid(reply);
    const { category } = request.params;
    if (await isOptedOut(options.pool, address, category)) {
      return page(reply, 'Already unsubscribed', `<p>${escapeHtml(masked(address))} gets no more ${escapeHtml(category)} emails.</p>`);
    }
    return page(
      reply,
      'Unsubscribe?',
      `<p>Stop sending ${escapeHtml(category)} emails to ${escapeHtml(masked(address))}?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>
<p>Emails about your account (sign-in, password, security) still reach you.</p>`,
    );
  });

  app.post<{ Params: Params }>('/unsubscribe/:category/:token', async (request, reply) => {
    const address = read(request);
    if (!address) return invalid(reply);
    const { category } = request.params;
    const added = await addOptOut(options.pool, address, category, 'link');
    request.log.info({ category, added }, 'unsubscribed');
    return page(reply, 'Unsubscribed', `<p>${escapeHtml(masked(address))} gets no more ${escapeHtml(category)} emails.</p>`);
  });
}

/** a***@example.com: enough for the person to recognise, not the whole address for whoever holds the link. */
function masked(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, Math.min(1, at))}***${address.slice(at)}`;
}

function page(reply: FastifyReply, title: string, body: string) {
  return reply
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
