// Circles, their invitations and their media. Inviting writes the invitation, its
// token and its email in one transaction, within the day's caps per inviter and per
// circle; a decline tells the inviter; a new media item alerts every other member
// with one multi-row INSERT into the outbox.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { body, idParams, reply, requireSession, schemas, sessionUser, type AppContext } from '../context.ts';
import type { AppDb } from '../db.ts';
import { AppError, notFound } from '../errors.ts';
import { checkInvitationLimits, type InvitationLimits } from '../invitation-limits.ts';
import { issueToken, redeemToken, retireTokens, TOKEN_LIFETIME_MS } from '../tokens.ts';

type Role = 'admin' | 'member';

/** The circle and the caller's role in it; 404 when there is no such circle, 403 when the role is short. */
async function circleFor(db: AppDb, circleId: string, userId: string, needed: Role) {
  const row = await db
    .selectFrom('app.circle as c')
    .leftJoin('app.membership as m', (join) => join.onRef('m.circle_id', '=', 'c.id').on('m.user_id', '=', userId))
    .select(['c.id', 'c.name', 'm.role'])
    .where('c.id', '=', circleId)
    .executeTakeFirst();
  if (!row) throw notFound('circle', 'id');
  if (!row.role) throw new AppError(403, 'not_circle_member', 'you are not a member of this circle');
  if (needed === 'admin' && row.role !== 'admin') throw new AppError(403, 'not_circle_admin', 'only the circle’s admins may do this');
  return { id: row.id, name: row.name, role: row.role };
}

const invitationReply = reply({ id: schemas.id, email: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } });

export interface CircleRoutesOptions extends AppContext {
  invitationLimits: InvitationLimits;
}

export async function circleRoutes(app: FastifyInstance, { db, outbox, invitationLimits }: CircleRoutesOptions): Promise<void> {
  const session = requireSession(db);

  app.post<{ Body: { name: string } }>(
    '/circles',
    { preHandler: session, schema: { body: body({ name: schemas.name }), response: { 201: reply({ id: schemas.id, name: { type: 'string' }, role: { type: 'string' } }) } } },
    async (request, res) => {
      const user = sessionUser(request);
      const circle = await db.transaction().execute(async (trx) => {
        const created = await trx.insertInto('app.circle').values({ name: request.body.name.trim(), created_by: user.id }).returning(['id', 'name']).executeTakeFirstOrThrow();
        await trx.insertInto('app.membership').values({ circle_id: created.id, user_id: user.id, role: 'admin' }).execute();
        return created;
      });
      return res.status(201).send({ ...circle, role: 'admin' });
    },
  );

  app.post<{ Params: { id: string }; Body: { email: string } }>(
    '/circles/:id/invitations',
    { preHandler: session, schema: { params: idParams, body: body({ email: schemas.email }), response: { 201: invitationReply } } },
    async (request, res) => {
      const user = sessionUser(request);
      const email = request.body.email.trim().toLowerCase();
      const circle = await circleFor(db, request.params.id, user.id, 'admin');
      const invitation = await db.transaction().execute(async (trx) => {
        const member = await trx
          .selectFrom('app.membership as m')
          .innerJoin('app.user_account as u', 'u.id', 'm.user_id')
          .select('u.id')
          .where('m.circle_id', '=', circle.id)
          .where('u.email', '=', email)
          .executeTakeFirst();
        if (member) throw new AppError(409, 'already_member', 'this address is already a member of the circle', 'email');
        await checkInvitationLimits(trx, user.id, circle.id, invitationLimits);
        const created = await trx
          .insertInto('app.invitation')
          .values({ circle_id: circle.id, email, invited_by: user.id, expires_at: new Date(Date.now() + TOKEN_LIFETIME_MS.invitation) })
          .onConflict((c) => c.columns(['circle_id', 'email']).where('status', '=', 'pending').doNothing())
          .returning(['id', 'email', 'expires_at'])
          .executeTakeFirst();
        if (!created) throw new AppError(409, 'already_invited', 'this address already has an open invitation to the circle', 'email');
        const token = await issueToken(trx, 'invitation', { invitationId: created.id }, created.expires_at);
        await outbox.enqueue(trx, {
          template: 'circle-invitation',
          to: email,
          props: { token: token.value, inviterName: user.name, circleName: circle.name, expiresAt: token.expiresAt.toISOString() },
          idempotencyKey: `circle-invitation:${created.id}`,
          notAfter: token.expiresAt,
        });
        return created;
      });
      return res.status(201).send({ id: invitation.id, email: invitation.email, expiresAt: invitation.expires_at.toISOString() });
    },
  );

  /** Redeem an invitation token and close the invitation; its other links (a reminder's) stop working. */
  const respond = async (trx: AppDb, value: string, status: 'accepted' | 'declined') => {
    const token = await redeemToken(trx, value, ['invitation']);
    const invitation = await trx
      .updateTable('app.invitation')
      .set({ status, responded_at: sql`now()` })
      .where('id', '=', token.invitation_id!)
      .where('status', '=', 'pending')
      .returning(['id', 'circle_id', 'email', 'invited_by'])
      .executeTakeFirst();
    if (!invitation) throw new AppError(400, 'token_used', 'this invitation has already been answered', 'token');
    await retireTokens(trx, ['invitation'], { invitationId: invitation.id });
    return invitation;
  };

  app.post<{ Body: { token: string } }>(
    '/invitations/accept',
    { preHandler: session, schema: { body: body({ token: schemas.token }), response: { 200: reply({ circleId: schemas.id, role: { type: 'string' } }) } } },
    async (request) => {
      const user = sessionUser(request);
      return db.transaction().execute(async (trx) => {
        const invitation = await respond(trx, request.body.token, 'accepted');
        // The token proves the invitee reads that mailbox; whoever holds it joins with their own account.
        await trx
          .insertInto('app.membership')
          .values({ circle_id: invitation.circle_id, user_id: user.id, role: 'member' })
          .onConflict((c) => c.columns(['circle_id', 'user_id']).doNothing())
          .execute();
        return { circleId: invitation.circle_id, role: 'member' };
      });
    },
  );

  app.post<{ Body: { token: string } }>(
    '/invitations/decline',
    { schema: { body: body({ token: schemas.token }), response: { 200: reply({ declined: { type: 'boolean' } }) } } },
    async (request) => {
      await db.transaction().execute(async (trx) => {
        const invitation = await respond(trx, request.body.token, 'declined');
        const detail = await trx
          .selectFrom('app.circle as c')
          .innerJoin('app.user_account as u', (join) => join.on('u.id', '=', invitation.invited_by))
          .select(['c.name as circleName', 'u.email as inviterEmail', 'u.name as inviterName'])
          .where('c.id', '=', invitation.circle_id)
          .executeTakeFirstOrThrow();
        await outbox.enqueue(trx, {
          template: 'invitation-declined',
          to: detail.inviterEmail,
          props: { inviterName: detail.inviterName, inviteeEmail: invitation.email, circleName: detail.circleName, circleId: invitation.circle_id },
          idempotencyKey: `invitation-declined:${invitation.id}`,
        });
      });
      return { declined: true };
    },
  );

  app.post<{ Params: { id: string }; Body: { kind: 'photo' | 'video' | 'mixed'; count?: number; caption?: string } }>(
    '/circles/:id/media',
    {
      preHandler: session,
      schema: {
        params: idParams,
        body: body(
          { kind: { type: 'string', enum: ['photo', 'video', 'mixed'] }, count: { type: 'integer', minimum: 1, maximum: 10_000 }, caption: schemas.caption },
          ['count', 'caption'],
        ),
        response: { 201: reply({ id: schemas.id, alerted: { type: 'integer' } }) },
      },
    },
    async (request, res) => {
      const user = sessionUser(request);
      const circle = await circleFor(db, request.params.id, user.id, 'member');
      const { kind, count = 1, caption } = request.body;
      const result = await db.transaction().execute(async (trx) => {
        const item = await trx
          .insertInto('app.media_item')
          .values({ circle_id: circle.id, uploaded_by: user.id, kind, count, caption: caption ?? null })
          .returning('id')
          .executeTakeFirstOrThrow();
        const others = await trx
          .selectFrom('app.membership as m')
          .innerJoin('app.user_account as u', 'u.id', 'm.user_id')
          .select(['u.id', 'u.email', 'u.name'])
          .where('m.circle_id', '=', circle.id)
          .where('m.user_id', '<>', user.id)
          .orderBy('u.email')
          .execute();
        // One INSERT for all of them, however many members the circle has.
        await outbox.enqueueMany(
          trx,
          others.map((member) => ({
            template: 'new-media-alert' as const,
            to: member.email,
            props: { recipientName: member.name, uploaderName: user.name, circleName: circle.name, circleId: circle.id, count, kind },
            idempotencyKey: `new-media-alert:${item.id}:${member.id}`,
          })),
        );
        return { id: item.id, alerted: others.length };
      });
      return res.status(201).send(result);
    },
  );
}
