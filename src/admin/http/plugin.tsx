// The admin pages under /admin: a Fastify plugin registered by buildServer() when
// ADMIN_TOKEN is set (without it every /admin URL answers 404 saying the pages are off).
//
// Security, in the order a request meets it:
//   - sign-in: POST /admin/login (with the form's own CSRF token: a nonce cookie set
//     by GET /admin/login and its HMAC in the form) compares the token with ADMIN_TOKEN in constant time
//     and sets an HttpOnly, SameSite=Strict cookie (Secure over https) holding a
//     signed session, never the token (session.ts); at most `loginRateLimit`
//     attempts per client address a minute (login-limit.ts), then 429;
//   - "over https" is request.protocol: the socket's, or X-Forwarded-Proto from a
//     proxy the server trusts (buildServer's trustProxy); such responses carry HSTS;
//   - every other route needs that cookie: a GET without it is sent to the sign-in
//     form, anything else gets 401;
//   - every POST carries the session's CSRF token in `_csrf`; missing or wrong: 403;
//   - pages are React rendered to static HTML (escaped), with a CSP that allows no
//     script at all; a row's email is shown in a sandboxed iframe whose document
//     has its own CSP (sandbox, no script, no network), rendered with sensitive props masked.
// Operator actions go through src/admin/outbox-admin.ts, the same rules as the CLI.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/connect.ts';
import { ValidationError } from '../../errors.ts';
import { isValidAddress } from '../../outbox/validate.ts';
import type { Catalogue } from '../../templates/catalogue.ts';
import { addSuppression, removeSuppression, suppressionPage } from '../../suppression/provider-events.ts';
import { CATEGORY } from '../../unsubscribe/category.ts';
import { listOptOuts, removeOptOut } from '../../unsubscribe/opt-outs.ts';
import { checkWindow, dashboard, type DashboardFilter } from '../dashboard.ts';
import {
  ATTEMPT_OUTCOMES, cancelFilter, cancelRow, checkId, checkStatus, countBulk, CountChangedError, decodeCursor, listPage, replayFilter,
  replayIds, showRow, type AttemptOutcome, type BulkAction, type RowFilter,
} from '../outbox-admin.ts';
import { maskProps, renderMasked } from '../preview.ts';
import {
  BASE, BulkDonePage, ConfirmPage, ListPage, LoginPage, MessagePage, OptOutsPage, OverviewPage, page, RowPage, SuppressionPage, type FilterValues,
} from './pages.tsx';
import {
  clearedSessionCookie, cookie, LOGIN_COOKIE, parseCookies, SESSION_COOKIE, sessionCookie, sessionKeys, tokenMatches,
} from './session.ts';
import { loginLimiter } from './login-limit.ts';
import { STYLESHEET } from './style.ts';

export interface AdminOptions {
  db: Db;
  /** The app's templates: previews, masking of sensitive props, the template filter. */
  catalogue: Catalogue;
  /** ADMIN_TOKEN; without it the pages are off (404). */
  token?: string | undefined;
  /** FRONTEND_BASE_URL, for the links in previews. */
  frontendBaseUrl?: string | undefined;
  /** ADMIN_LOGIN_RATE_LIMIT: sign-in attempts per client address (request.ip) a minute. Default 10. */
  loginRateLimit?: number;
}

/** Strict-Transport-Security on every response to a request that arrived over HTTPS. */
export const HSTS = 'max-age=31536000';

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2451b7"/><path d="M3 5h10v7H3z" fill="none" stroke="#fff" stroke-width="1.5"/><path d="M3 5l5 4 5-4" fill="none" stroke="#fff" stroke-width="1.5"/></svg>';

/** Over HTTPS, as far as this server may believe (X-Forwarded-Proto only from a trusted proxy). */
const overHttps = (request: FastifyRequest) => request.protocol === 'https';

/** Bulk actions act on at most this many rows from the pages; more is a job for the CLI. */
export const MAX_BULK_ROWS = 10_000;
const PAGE_SIZE = 50;

const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

// The email preview: inline styles and data: images only, nothing fetched, no
// script, a unique origin (sandbox), framed only by the admin's own pages.
const PREVIEW_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  'font-src data:',
  "form-action 'none'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  'sandbox',
].join('; ');

const rawField = (source: unknown, name: string): string => {
  const value = (source as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/** A query or form field; a NUL character (which no PostgreSQL text can hold) is bad input naming the field. */
const field = (source: unknown, name: string): string => {
  const value = rawField(source, name);
  if (value.includes('\u0000')) throw new ValidationError(name, 'must not contain a NUL character');
  return value;
};

function html(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

/**
 * Only a path inside the admin pages: never another site, nor `//host`; no control
 * characters. It goes into a Location header, which carries ASCII only: anything
 * else is percent-encoded as UTF-8, as a browser would (a lone surrogate cannot be:
 * the overview then).
 */
export function safeNext(next: string): string {
  if (!/^\/admin(\/[^/\\]|\/?$|\?)/.test(next) || /[\u0000-\u001f\u007f-\u009f]/.test(next)) return BASE;
  try {
    return next.replace(/[^\u0021-\u007e]+/gu, (text) => encodeURIComponent(text));
  } catch {
    return BASE;
  }
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** An instant in UTC, to the minute or finer: 2026-12-02T10:05Z, 2026-12-02T10:05:00.000Z. */
const INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z$/;

function parseInstant(text: string, name: string): Date {
  const match = INSTANT.exec(text);
  const date = match ? new Date(text) : undefined;
  // Date.parse rolls 25:00 or Feb 30 over into another instant: the round trip must agree.
  const same =
    match &&
    date &&
    !Number.isNaN(date.getTime()) &&
    date.toISOString().slice(0, 16) === `${match[1]}T${match[2]}:${match[3]}` &&
    (match[4] === undefined || date.getUTCSeconds() === Number(match[4]));
  if (!same) throw new ValidationError(name, `"${text}" is not an instant like 2026-12-02T10:05Z (UTC)`);
  return date!;
}

/** Transport names as the worker records them (smtp, mailjet, capture, a failover's members). */
const TRANSPORT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function parseDay(text: string, name: string): Date {
  const match = DAY.exec(text);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text) {
    throw new ValidationError(name, `"${text}" is not a date like 2026-11-28`);
  }
  return date;
}

/** The list's filter from a query string or a form: values as typed, and the checked filter. */
export function readFilter(source: unknown): { values: FilterValues; filter: RowFilter } {
  const values: FilterValues = {
    status: field(source, 'status').trim(),
    template: field(source, 'template').trim(),
    recipient: field(source, 'recipient').trim(),
    from: field(source, 'from').trim(),
    to: field(source, 'to').trim(),
    outcome: field(source, 'outcome').trim(),
    transport: field(source, 'transport').trim(),
    tried_from: field(source, 'tried_from').trim(),
    tried_to: field(source, 'tried_to').trim(),
  };
  const filter: RowFilter = {};
  if (values.status) filter.status = checkStatus(values.status);
  // Template and recipient are compared as literal text (bound parameters): a value
  // that is no template or address simply matches nothing.
  if (values.template) {
    if (values.template.length > 100) throw new ValidationError('template', 'is longer than any template name');
    filter.template = values.template;
  }
  if (values.recipient) {
    if (values.recipient.length > 254) throw new ValidationError('recipient', 'is longer than any address');
    filter.recipient = values.recipient;
  }
  if (values.from) filter.createdFrom = parseDay(values.from, 'from');
  if (values.to) filter.createdBefore = new Date(parseDay(values.to, 'to').getTime() + 86_400_000);
  if (filter.createdFrom && filter.createdBefore && filter.createdFrom >= filter.createdBefore) {
    throw new ValidationError('to', 'is before from');
  }
  if (values.outcome) {
    if (!ATTEMPT_OUTCOMES.includes(values.outcome as AttemptOutcome)) {
      throw new ValidationError('outcome', `"${values.outcome}" is not one of ${ATTEMPT_OUTCOMES.join(', ')}`);
    }
    filter.outcome = values.outcome as AttemptOutcome;
  }
  if (values.transport) {
    if (!TRANSPORT_NAME.test(values.transport)) throw new ValidationError('transport', `"${values.transport}" is not a transport name`);
    filter.transport = values.transport;
  }
  if (values.tried_from) filter.triedFrom = parseInstant(values.tried_from, 'tried_from');
  if (values.tried_to) filter.triedBefore = parseInstant(values.tried_to, 'tried_to');
  if (filter.triedFrom && filter.triedBefore && filter.triedFrom >= filter.triedBefore) {
    throw new ValidationError('tried_to', 'is not after tried_from');
  }
  return { values, filter };
}

/** The overview's filter from its query string. */
export function readDashboardFilter(source: unknown): DashboardFilter {
  const window = field(source, 'window').trim();
  const template = field(source, 'template').trim();
  const transport = field(source, 'transport').trim();
  const filter: DashboardFilter = { window: window ? checkWindow(window) : 'hour' };
  if (template) {
    if (!/^[a-z0-9][a-z0-9-]{0,99}$/.test(template)) throw new ValidationError('template', `"${template}" is not a template name`);
    filter.template = template;
  }
  if (transport) {
    if (!TRANSPORT_NAME.test(transport)) throw new ValidationError('transport', `"${transport}" is not a transport name`);
    filter.transport = transport;
  }
  return filter;
}

const ROW_NOTICES: Record<string, string> = {
  replayed: 'Replayed: the row is pending again and will be sent shortly.',
  'not-replayed': 'Not replayed: only failed, expired and cancelled rows (or sent ones, with "Send again") can be replayed.',
  cancelled: 'Cancelled.',
  'not-cancelled': 'Not cancelled: only pending, queued and retrying rows can be cancelled.',
};

const SUPPRESSION_NOTICES: Record<string, string> = {
  added: 'Address added to the suppression list.',
  'already-there': 'That address was already on the suppression list.',
  removed: 'Address removed from the suppression list.',
  'not-there': 'That address was not on the suppression list.',
};

const OPT_OUT_NOTICES: Record<string, string> = {
  removed: 'Opt-out removed: that address gets this category of email again.',
  'not-there': 'That address had not opted out of that category.',
};

export const adminPages: FastifyPluginAsync<AdminOptions> = async (app, options) => {
  if (!options.token) {
    const off = async (_request: FastifyRequest, reply: FastifyReply) =>
      html(
        reply,
        page(<MessagePage title="Admin pages are off" message="The admin pages are off on this server: set ADMIN_TOKEN (24 characters or more) to turn them on." kind="error" />),
        404,
      );
    app.get('/', off);
    app.all('/*', off);
    return;
  }
  const keys = sessionKeys(options.token);
  const { db, frontendBaseUrl, catalogue } = options;
  const cookieOptions = (request: FastifyRequest) => ({ secure: overHttps(request), path: BASE });
  const limiter = loginLimiter({ max: options.loginRateLimit ?? 10 });
  const sessions = new WeakMap<FastifyRequest, string>();

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (overHttps(request) && !reply.hasHeader('strict-transport-security')) reply.header('strict-transport-security', HSTS);
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP);
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof ValidationError) {
      return html(reply, page(<MessagePage title="Cannot do that" message={error.message} kind="error" back={BASE} />), 400);
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'admin page failed');
    const message = status === 500 ? 'Something went wrong; the server log has the details.' : error.message;
    return html(reply, page(<MessagePage title="Error" message={message} kind="error" back={BASE} />), status);
  });

  app.setNotFoundHandler(async (_request, reply) =>
    html(reply, page(<MessagePage title="Not found" message="No such admin page." kind="error" back={BASE} />), 404),
  );

  // Public: the stylesheet and the sign-in form.
  app.get('/style.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(STYLESHEET));
  // Named by every page, so a browser does not ask for /favicon.ico (a 404 in its console).
  app.get('/favicon.svg', async (_request, reply) => reply.type('image/svg+xml').header('cache-control', 'max-age=86400').send(FAVICON));

  /** The sign-in form, with a fresh nonce cookie and the CSRF token made from it. */
  const loginForm = (request: FastifyRequest, reply: FastifyReply, next: string, status = 200, error?: string) => {
    const { nonce, csrf } = keys.loginNonce();
    reply.header('set-cookie', cookie(LOGIN_COOKIE, nonce, { secure: overHttps(request), path: `${BASE}/login`, maxAge: 3600 }));
    return html(reply, page(<LoginPage next={next} csrf={csrf} {...(error ? { error } : {})} />), status);
  };

  app.get('/login', async (request, reply) => loginForm(request, reply, safeNext(rawField(request.query, 'next'))));

  // Counted before the body is read, whatever the outcome: the limit is on guessing.
  const limitSignIn = async (request: FastifyRequest, reply: FastifyReply) => {
    const taken = limiter.take(request.ip);
    if (taken.allowed) return;
    request.log.warn({ ip: request.ip }, 'admin sign-in refused: too many attempts from this address');
    reply.header('retry-after', String(taken.retryAfterSeconds));
    return html(
      reply,
      page(
        <MessagePage
          title="Too many sign-in attempts"
          message={`Too many sign-in attempts from your address: try again in ${taken.retryAfterSeconds} s.`}
          kind="error"
          back={`${BASE}/login`}
        />,
      ),
      429,
    );
  };

  app.post('/login', { onRequest: limitSignIn }, async (request, reply) => {
    const next = safeNext(rawField(request.body, 'next'));
    if (!keys.loginCsrfMatches(parseCookies(request.headers.cookie).get(LOGIN_COOKIE), field(request.body, '_csrf') || undefined)) {
      request.log.warn('admin sign-in refused: missing or wrong CSRF token');
      return loginForm(request, reply, next, 403, 'The sign-in form expired or did not come from this server: try again.');
    }
    if (!tokenMatches(field(request.body, 'token'), options.token!)) {
      request.log.warn('admin sign-in refused: wrong token');
      return loginForm(request, reply, next, 401, 'Wrong token.');
    }
    reply.header('set-cookie', [
      sessionCookie(keys.issue(), cookieOptions(request)),
      cookie(LOGIN_COOKIE, '', { secure: overHttps(request), path: `${BASE}/login`, maxAge: 0 }),
    ]);
    return reply.redirect(next, 303);
  });

  // Everything else needs a session, and its POSTs the session's CSRF token.
  await app.register(async (signedIn: FastifyInstance) => {
    signedIn.addHook('onRequest', async (request, reply) => {
      const session = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
      if (session && keys.verify(session)) {
        sessions.set(request, session);
        return;
      }
      if (request.method === 'GET' || request.method === 'HEAD') {
        return reply.redirect(`${BASE}/login?next=${encodeURIComponent(request.url)}`, 303);
      }
      return html(reply, page(<MessagePage title="Sign in first" message="This needs a signed-in admin session." kind="error" back={`${BASE}/login`} />), 401);
    });
    signedIn.addHook('preHandler', async (request, reply) => {
      if (request.method !== 'POST') return;
      if (!keys.csrfMatches(sessions.get(request)!, field(request.body, '_csrf') || undefined)) {
        request.log.warn({ url: request.url }, 'admin POST refused: missing or wrong CSRF token');
        return html(
          reply,
          page(<MessagePage title="Refused" message="This form is stale or did not come from the admin pages (CSRF token missing or wrong). Reload the page and try again." kind="error" back={BASE} />),
          403,
        );
      }
    });
    const csrf = (request: FastifyRequest) => keys.csrfFor(sessions.get(request)!);

    signedIn.post('/logout', async (request, reply) => {
      reply.header('set-cookie', clearedSessionCookie(cookieOptions(request)));
      return reply.redirect(`${BASE}/login`, 303);
    });

    signedIn.get('/', async (request, reply) => {
      const filter = readDashboardFilter(request.query);
      const refresh = field(request.query, 'refresh') !== 'off';
      return html(reply, page(<OverviewPage data={await dashboard(db.kysely, filter)} csrf={csrf(request)} refresh={refresh} />));
    });

    signedIn.get('/outbox', async (request, reply) => {
      const { values, filter } = readFilter(request.query);
      const afterText = field(request.query, 'after');
      const after = afterText ? decodeCursor(afterText) : undefined;
      const result = await listPage(db.kysely, filter, { limit: PAGE_SIZE, ...(after ? { after } : {}) });
      return html(reply, page(<ListPage values={values} result={result} csrf={csrf(request)} firstPage={!after} templateNames={catalogue.names} follow={field(request.query, 'follow') === '1'} />));
    });

    signedIn.get('/outbox/bulk', async (request, reply) => {
      const action = bulkAction(field(request.query, 'action'));
      const { values, filter } = readFilter(request.query);
      const count = await countBulk(db.kysely, action, filter);
      return html(reply, page(<ConfirmPage action={action} values={values} count={count} csrf={csrf(request)} max={MAX_BULK_ROWS} />));
    });

    signedIn.post('/outbox/bulk', async (request, reply) => {
      const action = bulkAction(field(request.body, 'action'));
      const { values, filter } = readFilter(request.body);
      const expected = Number(field(request.body, 'expected'));
      if (!Number.isInteger(expected) || expected < 1) throw new ValidationError('expected', 'confirm a count of rows first');
      if (expected > MAX_BULK_ROWS) throw new ValidationError('expected', `more than ${MAX_BULK_ROWS} rows: narrow the filter, or use the CLI`);
      try {
        const done =
          action === 'replay'
            ? await replayFilter(db.kysely, filter, { expected, actor: actorOf(request) }).then((r) => ({ matched: r.matched.length, changed: r.replayed.length }))
            : await cancelFilter(db.kysely, filter, { expected, actor: actorOf(request) }).then((r) => ({ matched: r.matched.length, changed: r.cancelled.length }));
        request.log.info({ action, filter: values, ...done }, 'admin bulk action');
        return html(reply, page(<BulkDonePage action={action} values={values} {...done} csrf={csrf(request)} />));
      } catch (error) {
        if (!(error instanceof CountChangedError)) throw error;
        return html(
          reply,
          page(<ConfirmPage action={action} values={values} count={error.actual} csrf={csrf(request)} max={MAX_BULK_ROWS} notice={error.message} />),
          409,
        );
      }
    });

    signedIn.get<{ Params: { id: string } }>('/outbox/:id', async (request, reply) => {
      const found = await showRow(db.kysely, request.params.id);
      if (!found) return html(reply, page(<MessagePage title="Not found" message="No outbox row with that id." kind="error" csrf={csrf(request)} back={`${BASE}/outbox`} />), 404);
      let subject: string | null = null;
      let previewError: string | null = null;
      try {
        subject = (await renderMasked(catalogue, found.row, { baseUrl: frontendBaseUrl })).subject;
      } catch (error) {
        previewError = error instanceof Error ? error.message : String(error);
      }
      const notice = ROW_NOTICES[field(request.query, 'notice')];
      return html(
        reply,
        page(
          <RowPage
            row={found.row}
            attempts={found.attempts}
            props={maskProps(catalogue, found.row.template, found.row.props)}
            subject={subject}
            previewError={previewError}
            resendable={catalogue.sensitiveProps(found.row.template).every((key) => key in found.row.props)}
            csrf={csrf(request)}
            {...(notice ? { notice } : {})}
          />,
        ),
      );
    });

    signedIn.get<{ Params: { id: string } }>('/outbox/:id/preview', async (request, reply) => {
      const found = await showRow(db.kysely, request.params.id);
      reply.header('content-security-policy', PREVIEW_CSP).header('x-frame-options', 'SAMEORIGIN');
      if (!found) return reply.code(404).type('text/plain; charset=utf-8').send('no such row');
      try {
        const rendered = await renderMasked(catalogue, found.row, { baseUrl: frontendBaseUrl });
        return html(reply, rendered.html);
      } catch (error) {
        return reply.code(422).type('text/plain; charset=utf-8').send(`cannot render: ${error instanceof Error ? error.message : String(error)}`);
      }
    });

    signedIn.post<{ Params: { id: string } }>('/outbox/:id/replay', async (request, reply) => {
      const id = checkId(request.params.id);
      const resend = field(request.body, 'resend') === 'true';
      const result = await replayIds(db.kysely, [id], { resend, actor: actorOf(request) });
      request.log.info({ id, resend, replayed: result.replayed.length === 1 }, 'admin replay');
      return reply.redirect(`${BASE}/outbox/${id}?notice=${result.replayed.length === 1 ? 'replayed' : 'not-replayed'}`, 303);
    });

    signedIn.post<{ Params: { id: string } }>('/outbox/:id/cancel', async (request, reply) => {
      const id = checkId(request.params.id);
      const result = await cancelRow(db.kysely, id, { actor: actorOf(request) });
      request.log.info({ id, cancelled: result.cancelled }, 'admin cancel');
      return reply.redirect(`${BASE}/outbox/${id}?notice=${result.cancelled ? 'cancelled' : 'not-cancelled'}`, 303);
    });

    signedIn.get('/suppression', async (request, reply) => {
      const q = field(request.query, 'q').trim();
      const after = field(request.query, 'after');
      const result = await suppressionPage(db.kysely, { prefix: q, ...(after ? { after } : {}) });
      const notice = SUPPRESSION_NOTICES[field(request.query, 'notice')];
      return html(reply, page(<SuppressionPage rows={result.rows} q={q} next={result.next} csrf={csrf(request)} {...(notice ? { notice } : {})} />));
    });

    signedIn.post('/suppression/add', async (request, reply) => {
      const address = field(request.body, 'address').trim();
      if (!isValidAddress(address)) throw new ValidationError('address', `"${address}" is not an email address`);
      const reason = field(request.body, 'reason').trim() || 'added in the admin pages';
      if (!/^[^\r\n]{1,200}$/.test(reason)) throw new ValidationError('reason', 'must be one line of 1 to 200 characters');
      const added = await addSuppression(db.kysely, address, reason);
      request.log.info({ added }, 'admin suppression add');
      return reply.redirect(`${BASE}/suppression?notice=${added ? 'added' : 'already-there'}`, 303);
    });

    signedIn.post('/suppression/remove', async (request, reply) => {
      const removed = await removeSuppression(db.kysely, field(request.body, 'address').trim());
      request.log.info({ removed }, 'admin suppression remove');
      return reply.redirect(`${BASE}/suppression?notice=${removed ? 'removed' : 'not-there'}`, 303);
    });

    signedIn.get('/opt-outs', async (request, reply) => {
      const q = field(request.query, 'q').trim();
      if (q && !isValidAddress(q)) throw new ValidationError('q', `"${q}" is not an email address`);
      const rows = await listOptOuts(db.pool, { ...(q ? { address: q } : {}), limit: 500 });
      const notice = OPT_OUT_NOTICES[field(request.query, 'notice')];
      return html(reply, page(<OptOutsPage rows={rows} q={q} csrf={csrf(request)} {...(notice ? { notice } : {})} />));
    });

    signedIn.post('/opt-outs/remove', async (request, reply) => {
      const address = field(request.body, 'address').trim();
      const category = field(request.body, 'category').trim();
      if (!isValidAddress(address)) throw new ValidationError('address', `"${address}" is not an email address`);
      if (!CATEGORY.test(category)) throw new ValidationError('category', 'must be a category name (a-z, 0-9, -)');
      const removed = await removeOptOut(db.pool, address, category);
      request.log.info({ removed, category }, 'admin opt-out remove');
      return reply.redirect(`${BASE}/opt-outs?notice=${removed ? 'removed' : 'not-there'}`, 303);
    });
  });
};

/**
 * Who an action from the pages is recorded as. The pages have one shared token,
 * not accounts, so the client address (request.ip: the proxy's client when the
 * server trusts the proxy) is what tells one operator from another.
 */
const actorOf = (request: FastifyRequest) => `admin (${request.ip})`.slice(0, 200);

function bulkAction(text: string): BulkAction {
  if (text !== 'replay' && text !== 'cancel') throw new ValidationError('action', 'must be replay or cancel');
  return text;
}
