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

/**
 * Signup's write: a new account for a new address; for an address nobody has
 * verified yet, this signup takes the pending account over (password, name) and
 * marks it contested. Account pre-hijacking: whoever signed up first may not own the
 * mailbox, so the first signup's password must not survive the owner's. Undefined
 * for a verified address, which nothing here changes. One statement, so two signups
 * of one address at once cannot both insert.
 */
async function takePendingAccount(trx: AppDb, account: { email: string; name: string; passwordHash: string }) {
  return trx
    .insertInto('app.user_account')
    .values({ email: account.email, name: account.name, password_hash: account.passwordHash })
    .onConflict((c) =>
      c
        .column('email')
        .doUpdateSet((eb) => ({ name: eb.ref('excluded.name'), password_hash: eb.ref('excluded.password_hash'), signup_contested_at: sql`now()` }))
        .where('app.user_account.verified_at', 'is', null),
    )
    .returning('id')
    .executeTakeFirst();
}

/**
 * An account's verify-email link was used. The link reached the mailbox, so its
 * holder is the address's owner: a password they give replaces the one on record.
 * After contested signups the one on record may be anyone's, so then they must give
 * one (password_required; the refusal rolls the token back, the link still works).
 * Only the link's holder ever sees that answer, never a signup.
 */
async function verifyAccount(trx: AppDb, userId: string, passwordHash: string | undefined): Promise<void> {
  const account = await trx
    .selectFrom('app.user_account')
    .select(['verified_at', 'signup_contested_at'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (!account.verified_at) {
    if (account.signup_contested_at && !passwordHash) {
      throw new AppError(400, 'password_required', 'this address was signed up more than once: choose the password to keep', 'password');
    }
    const set = passwordHash ? { verified_at: sql<Date>`now()`, password_hash: passwordHash } : { verified_at: sql<Date>`now()` };
    await trx.updateTable('app.user_account').set(set).where('id', '=', userId).execute();
    if (passwordHash) await revokeSessions(trx, userId);
  }
  await retireTokens(trx, ['verify-email'], { userId });
}

async function revokeSessions(trx: AppDb, userId: string): Promise<void> {
  await trx.updateTable('app.session').set({ revoked_at: sql`now()` }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
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
        const user = await takePendingAccount(trx, { email, name, passwordHash });
        // A verified address gets nothing new (and the same 202): signup does not
        // tell who has an account, and never changes a verified account's password.
        // Its owner can ask for a reset.
        if (!user) return;
        // The same work for a new address and a pending one: earlier links and
        // sessions of a pending account die with the password they went with.
        await revokeSessions(trx, user.id);
        await retireTokens(trx, ['verify-email'], { userId: user.id });
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

  app.post<{ Body: { token: string; password?: string } }>(
    '/auth/verify',
    {
      config,
      schema: { body: body({ token: schemas.token, password }, ['password']), response: { 200: reply({ verified: { type: 'string' } }) } },
    },
    async (request) => {
      // Hashed before the transaction, as at signup: keep it short.
      const passwordHash = request.body.password === undefined ? undefined : await hashPassword(request.body.password, passwordCost);
      return db.transaction().execute(async (trx) => {
        const token = await redeemToken(trx, request.body.token, ['verify-email', 'child-upgrade']);
        if (token.purpose === 'child-upgrade') {
          await trx.updateTable('app.child_profile').set({ email_verified_at: sql`now()` }).where('id', '=', token.child_id!).execute();
          return { verified: 'child' };
        }
        await verifyAccount(trx, token.user_id!, passwordHash);
        return { verified: 'account' };
      });
    },
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
        await revokeSessions(trx, userId);
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
