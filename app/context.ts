// What every route of the app shares: its database, the outbox it writes to, and
// the session check.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { AppDb } from './db.ts';
import { mail, type ProductMail } from './mail.ts';
import { unauthenticated } from './errors.ts';
import { hashSecret } from './secrets.ts';
import { textSchemas } from './text.ts';

/** mailroom's enqueue, as the app uses it. The bench swaps in a no-op to measure the enqueue's share. */
export type Outbox = Pick<ProductMail, 'enqueue' | 'enqueueMany'>;

export const mailroomOutbox: Outbox = mail;

export interface AppContext {
  db: AppDb;
  outbox: Outbox;
}

export interface SessionUser {
  id: string;
  email: string;
  name: string;
}

const users = new WeakMap<FastifyRequest, SessionUser>();

/** preHandler for routes that need a session: `Authorization: Bearer <session token>`, else 401. */
export function requireSession(db: AppDb) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const match = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(request.headers.authorization ?? '');
    if (!match) throw unauthenticated();
    const user = await db
      .selectFrom('app.session as s')
      .innerJoin('app.user_account as u', 'u.id', 's.user_id')
      .select(['u.id', 'u.email', 'u.name'])
      .where('s.token_hash', '=', hashSecret(match[1]!))
      .where('s.revoked_at', 'is', null)
      .where('s.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    if (!user) throw unauthenticated();
    users.set(request, user);
  };
}

/** The session's user; only on routes behind requireSession. */
export function sessionUser(request: FastifyRequest): SessionUser {
  const user = users.get(request);
  if (!user) throw unauthenticated();
  return user;
}

/** JSON schema pieces shared by the routes. */
export const schemas = {
  email: { type: 'string', format: 'email', maxLength: 254 },
  token: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,256}$' },
  /** A person's, circle's or child's name (app/text.ts: no control characters). */
  name: textSchemas.name,
  caption: textSchemas.caption,
  id: { type: 'string', format: 'uuid' },
} as const;

export const idParams = { type: 'object', properties: { id: schemas.id }, required: ['id'] } as const;

/** A body of these properties, all required unless listed as optional. */
export function body(properties: Record<string, object>, optional: string[] = []) {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    additionalProperties: false,
  } as const;
}

/** A response of these properties (anything else is dropped by the serializer). */
export function reply(properties: Record<string, object>) {
  return { type: 'object', properties, required: Object.keys(properties) } as const;
}
