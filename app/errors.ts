// Every error the app answers with has one shape: { "error": { "code", "message", "field" } }.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from 'mailroom';
import { PATTERN_MESSAGES } from './text.ts';

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    /** Headers to answer with, e.g. Retry-After on a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const unauthenticated = () => new AppError(401, 'unauthenticated', 'a valid session is required (Authorization: Bearer <session>)');
export const notFound = (what: string, field: string | null = null) => new AppError(404, `${what}_not_found`, `no such ${what}`, field);

/** The error body, as documented in docs/app.md. */
export const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: ['string', 'null'] } },
      required: ['code', 'message', 'field'],
    },
  },
} as const;

const FASTIFY_CODES: Record<number, string> = { 413: 'payload_too_large', 415: 'unsupported_media_type' };

// Fields of mailroom's enqueue errors, as the app's clients name them.
const ENQUEUE_FIELDS: Record<string, string> = { to: 'email' };

export function handleError(error: FastifyError | AppError | ValidationError, request: FastifyRequest, reply: FastifyReply) {
  const send = (status: number, code: string, message: string, field: string | null) =>
    reply.status(status).send({ error: { code, message, field } });
  if (error instanceof AppError) {
    reply.headers(error.headers);
    return send(error.statusCode, error.code, error.message, error.field);
  }
  if ('validation' in error && error.validation) {
    const first = error.validation[0];
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const path = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const field = missing ? [path, missing].filter(Boolean).join('.') : path || null;
    const pattern = first?.keyword === 'pattern' ? PATTERN_MESSAGES[String((first.params as { pattern?: unknown }).pattern)] : undefined;
    return send(400, 'invalid_request', `${field ?? error.validationContext ?? 'request'} ${pattern ?? first?.message ?? 'is invalid'}`, field);
  }
  if (error instanceof ValidationError) {
    // mailroom refused the email (e.g. an address its stricter check rejects): nothing was written.
    return send(400, 'invalid_request', error.message, ENQUEUE_FIELDS[error.field] ?? error.field);
  }
  // Fastify's own refusals: a body that is not JSON, a wrong content type, too large.
  const status = (error as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return send(status, FASTIFY_CODES[status] ?? 'invalid_request', error.message, null);
  request.log.error({ err: error }, 'request failed');
  if (isDatabaseUnavailable(error)) return send(503, 'unavailable', 'the database is unavailable; try again shortly', null);
  return send(500, 'internal', 'internal error', null);
}

/** Connection refused or lost, or the server shutting down (SQLSTATE classes 08 and 57P). */
function isDatabaseUnavailable(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code) || /^08|^57P0/.test(code) || /Connection terminated/.test(String(error));
}
