// Child profiles. Upgrading one to its own address sends two links in one
// transaction: a verification to the child's new address, and a consent request to
// the guardian. The upgrade is complete when both are used.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { body, idParams, reply, requireSession, schemas, sessionUser, type AppContext } from '../context.ts';
import { AppError, notFound } from '../errors.ts';
import { issueToken, redeemToken, retireTokens } from '../tokens.ts';

/** How long a guardian has to consent before the upgrade must be asked for again (reminders stop then). */
export const UPGRADE_LIFETIME_MS = 7 * 24 * 3_600_000;

export async function childRoutes(app: FastifyInstance, { db, outbox }: AppContext): Promise<void> {
  const session = requireSession(db);

  app.post<{ Body: { name: string } }>(
    '/children',
    { preHandler: session, schema: { body: body({ name: schemas.name }), response: { 201: reply({ id: schemas.id, name: { type: 'string' } }) } } },
    async (request, res) => {
      const user = sessionUser(request);
      const child = await db
        .insertInto('app.child_profile')
        .values({ guardian_id: user.id, name: request.body.name.trim() })
        .returning(['id', 'name'])
        .executeTakeFirstOrThrow();
      return res.status(201).send(child);
    },
  );

  app.post<{ Params: { id: string }; Body: { email: string } }>(
    '/children/:id/upgrade',
    { preHandler: session, schema: { params: idParams, body: body({ email: schemas.email }), response: { 202: reply({ accepted: { type: 'boolean' } }) } } },
    async (request, res) => {
      const guardian = sessionUser(request);
      const email = request.body.email.trim().toLowerCase();
      await db.transaction().execute(async (trx) => {
        const child = await trx.selectFrom('app.child_profile').select(['id', 'name', 'guardian_id']).where('id', '=', request.params.id).forUpdate().executeTakeFirst();
        if (!child) throw notFound('child', 'id');
        if (child.guardian_id !== guardian.id) throw new AppError(403, 'not_guardian', 'only the child’s guardian may do this');
        // A new request replaces any earlier one: its links stop working.
        await retireTokens(trx, ['child-upgrade', 'guardian-consent'], { childId: child.id });
        await trx
          .updateTable('app.child_profile')
          .set({
            upgrade_email: email,
            upgrade_requested_at: sql`now()`,
            upgrade_expires_at: new Date(Date.now() + UPGRADE_LIFETIME_MS),
            email_verified_at: null,
            consent_at: null,
          })
          .where('id', '=', child.id)
          .execute();
        const verify = await issueToken(trx, 'child-upgrade', { childId: child.id });
        const consent = await issueToken(trx, 'guardian-consent', { childId: child.id });
        await outbox.enqueueMany(trx, [
          {
            template: 'child-upgrade-verify',
            to: email,
            props: { token: verify.value, childName: child.name, guardianName: guardian.name, expiresAt: verify.expiresAt.toISOString() },
            idempotencyKey: `child-upgrade-verify:${verify.id}`,
            notAfter: verify.expiresAt,
          },
          {
            template: 'guardian-consent-reminder',
            to: guardian.email,
            props: { token: consent.value, guardianName: guardian.name, childName: child.name, expiresAt: consent.expiresAt.toISOString() },
            idempotencyKey: `guardian-consent:${consent.id}`,
            notAfter: consent.expiresAt,
          },
        ]);
      });
      return res.status(202).send({ accepted: true });
    },
  );

  app.post<{ Body: { token: string } }>(
    '/children/consent',
    { schema: { body: body({ token: schemas.token }), response: { 200: reply({ consented: { type: 'boolean' } }) } } },
    async (request) => {
      await db.transaction().execute(async (trx) => {
        const token = await redeemToken(trx, request.body.token, ['guardian-consent']);
        await trx.updateTable('app.child_profile').set({ consent_at: sql`now()` }).where('id', '=', token.child_id!).execute();
        await retireTokens(trx, ['guardian-consent'], { childId: token.child_id! });
      });
      return { consented: true };
    },
  );
}
