// Accounts: signup, verification (and its resend), login, password reset. Every
// handler that sends a link writes the token and its email in one transaction and
// answers at once; no response carries an email token. Only login returns a secret:
// the session.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { body, reply, schemas, type AppContext, type Outbox } from '../context.ts';
import type { AppDb } from '../db.ts';
import { AppError } from '../errors.ts';
import { dummyPasswordHash, hashPassword, hashSecret, newSecret, verifyPassword } from '../secrets.ts';
import { claimOnce, issueToken, redeemToken, retireTokens, windowKey } from '../tokens.ts';

export interface AuthRateLimit {
  /** Requests per client address and route within the window. */
  max: number;
  timeWindowMs: number;
}

export interface AuthRoutesOptions extends AppContext {
  rateLimit: AuthRateLimit;
  /** log2 of scrypt's N for new password hashes. */
  passwordCost: number;
}

/** At most one verification or reset email per account in this window, however often it is asked for. */
export const RESEND_WINDOW_MS = 5 * 60_000;
const SESSION_LIFETIME_MS = 30 * 24 * 3_600_000;

const accepted = { 202: reply({ accepted: { type: 'boolean' } }) };
const password = { type: 'string', minLength: 10, maxLength: 200 };
const normalise = (email: string) => email.trim().toLowerCase();

const LINK_PURPOSE = { 'resend-verification': 'verify-email', 'password-reset': 'password-reset' } as const;

/**
 * A link to an account's own address, at most once per account and window however
 * often it is asked for: the window's key is claimed first, so a refused request
 * writes neither a token nor an email. The key is also the email's idempotency key.
 */
async function sendAccountLink(
  trx: AppDb,
  outbox: Outbox,
  template: keyof typeof LINK_PURPOSE,
  user: { id: string; name: string; email: string },
): Promise<void> {
  const key = `${template}:${user.id}:${windowKey(new Date(), RESEND_WINDOW_MS)}`;
  if (!(await claimOnce(trx, key))) return;
  const token = await issueToken(trx, LINK_PURPOSE[template], { userId: user.id });
  await outbox.enqueue(trx, {
    template,
    to: user.email,
    props: { token: token.value, name: user.name, expiresAt: token.expiresAt.toISOString() },
    idempotencyKey: key,
    notAfter: token.expiresAt,
  });
}

export async function authRoutes(app: FastifyInstance, { db, outbox, rateLimit: limit, passwordCost }: AuthRoutesOptions): Promise<void> {
  // In memory, per process: enough for one API process; behind several, use a shared store (docs/app.md).
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'rate_limited', `too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`),
  });
  const config = { rateLimit: { max: limit.max, timeWindow: limit.timeWindowMs } };

  app.post<{ Body: { email: string; password: string; name: string } }>(
    '/auth/signup',
    { config, schema: { body: body({ email: schemas.email, password, name: schemas.name }), response: accepted } },
    async (request, res) => {
      const email = normalise(request.body.email);
      const { name } = request.body;
      const passwordHash = await hashPassword(request.body.password, passwordCost); // before the transaction: keep it short
      await db.transaction().execute(async (trx) => {
        // An address already registered gets nothing new (and the same 202): signup
        // does not tell who has an account. Its owner can ask for a resend or a reset.
        const user = await trx
          .insertInto('app.user_account')
          .values({ email, name, password_hash: passwordHash })
          .onConflict((c) => c.column('email').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!user) return;
        const token = await issueToken(trx, 'verify-email', { userId: user.id });
        await outbox.enqueue(trx, {
          template: 'verify-email',
          to: email,
          props: { token: token.value, name, expiresAt: token.expiresAt.toISOString() },
          idempotencyKey: `verify-email:${token.id}`,
          notAfter: token.expiresAt,
        });
      });
      return res.status(202).send({ accepted: true });
    },
  );

  app.post<{ Body: { email: string } }>(
    '/auth/verification/resend',
    { config, schema: { body: body({ email: schemas.email }), response: accepted } },
    async (request, res) => {
      const email = normalise(request.body.email);
      await db.transaction().execute(async (trx) => {
        const user = await trx
          .selectFrom('app.user_account')
          .select(['id', 'name'])
          .where('email', '=', email)
          .where('verified_at', 'is', null)
          .executeTakeFirst();
        if (!user) return;
        await sendAccountLink(trx, outbox, 'resend-verification', { ...user, email });
      });
      return res.status(202).send({ accepted: true });
    },
  );

  app.post<{ Body: { token: string } }>(
    '/auth/verify',
    { config, schema: { body: body({ token: schemas.token }), response: { 200: reply({ verified: { type: 'string' } }) } } },
    async (request) =>
      db.transaction().execute(async (trx) => {
        const token = await redeemToken(trx, request.body.token, ['verify-email', 'child-upgrade']);
        if (token.purpose === 'child-upgrade') {
          await trx.updateTable('app.child_profile').set({ email_verified_at: sql`now()` }).where('id', '=', token.child_id!).execute();
          return { verified: 'child' };
        }
        await trx.updateTable('app.user_account').set({ verified_at: sql`coalesce(verified_at, now())` }).where('id', '=', token.user_id!).execute();
        await retireTokens(trx, ['verify-email'], { userId: token.user_id! });
        return { verified: 'account' };
      }),
  );

  app.post<{ Body: { email: string; password: string } }>(
    '/auth/login',
    {
      config,
      schema: {
        body: body({ email: schemas.email, password: { type: 'string', maxLength: 200 } }),
        response: { 200: reply({ session: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } }) },
      },
    },
    async (request) => {
      const user = await db
        .selectFrom('app.user_account')
        .select(['id', 'password_hash', 'verified_at'])
        .where('email', '=', normalise(request.body.email))
        .executeTakeFirst();
      const ok = await verifyPassword(request.body.password, user?.password_hash ?? (await dummyPasswordHash()));
      if (!user || !ok) throw new AppError(401, 'invalid_credentials', 'wrong email or password');
      if (!user.verified_at) throw new AppError(403, 'email_not_verified', 'verify your email address first (see the email we sent)', 'email');
      const session = newSecret();
      const expiresAt = new Date(Date.now() + SESSION_LIFETIME_MS);
      await db.insertInto('app.session').values({ user_id: user.id, token_hash: hashSecret(session), expires_at: expiresAt }).execute();
      return { session, expiresAt: expiresAt.toISOString() };
    },
  );

  app.post<{ Body: { email: string } }>(
    '/auth/password-reset',
    { config, schema: { body: body({ email: schemas.email }), response: accepted } },
    async (request, res) => {
      const email = normalise(request.body.email);
      await db.transaction().execute(async (trx) => {
        const user = await trx.selectFrom('app.user_account').select(['id', 'name']).where('email', '=', email).executeTakeFirst();
        if (!user) return;
        await sendAccountLink(trx, outbox, 'password-reset', { ...user, email });
      });
      return res.status(202).send({ accepted: true });
    },
  );

  app.post<{ Body: { token: string; password: string } }>(
    '/auth/password-reset/confirm',
    { config, schema: { body: body({ token: schemas.token, password }), response: { 200: reply({ passwordChanged: { type: 'boolean' } }) } } },
    async (request) => {
      const passwordHash = await hashPassword(request.body.password, passwordCost);
      await db.transaction().execute(async (trx) => {
        const token = await redeemToken(trx, request.body.token, ['password-reset']);
        const userId = token.user_id!;
        // The link came to this address, so it is verified too.
        const user = await trx
          .updateTable('app.user_account')
          .set({ password_hash: passwordHash, verified_at: sql`coalesce(verified_at, now())` })
          .where('id', '=', userId)
          .returning(['email', 'name'])
          .executeTakeFirstOrThrow();
        await trx.updateTable('app.session').set({ revoked_at: sql`now()` }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
        await retireTokens(trx, ['password-reset'], { userId });
        await outbox.enqueue(trx, {
          template: 'password-changed',
          to: user.email,
          props: { name: user.name, changedAt: new Date().toISOString() },
          idempotencyKey: `password-changed:${token.id}`,
        });
      });
      return { passwordChanged: true };
    },
  );
}
