// The scheduled emails (invitation reminder, guardian consent reminders, weekly
// digest) fire from pg-boss schedules; firing twice for the same period, or on two
// servers at once, writes each email once.
import { beforeAll, describe, expect, it } from 'vitest';
import { mailroomOutbox } from '../../app/context.ts';
import { appDb } from '../../app/db.ts';
import { housekeeping, isoWeek, remindGuardians, remindPendingInvitations, sendWeeklyDigests, startSchedules, type ScheduleContext } from '../../app/schedules.ts';
import { linkIn, tokenOf, useAppScenario } from '../support/app.ts';
import { waitUntil } from '../support/worker.ts';

const s = useAppScenario();
let ctx: ScheduleContext;
let ada: string;
let bob: string;
let circleId: string;
const DAY = 86_400_000;

beforeAll(async () => {
  ctx = { db: appDb(s.appDb.pool), outbox: mailroomOutbox, timeZone: 'Europe/Paris' };
  ada = await s.signedInUser('ada@example.test', 'Ada');
  bob = await s.signedInUser('bob@example.test', 'Bob');
  circleId = (await s.post('/circles', { name: 'The Lovelaces' }, ada)).body.id;
  await s.newOutboxRows();
});

const rowsOf = async (template: string) =>
  (await s.pool.query('select template, recipient, props, idempotency_key, not_after from mailroom.outbox where template = $1 order by created_at', [template])).rows;

it('ISO weeks, across year ends', () => {
  expect(isoWeek('2026-11-28')).toBe('2026-W48');
  expect(isoWeek('2026-11-30')).toBe('2026-W49');
  expect(isoWeek('2021-01-03')).toBe('2020-W53');
  expect(isoWeek('2024-12-30')).toBe('2025-W01');
});

describe('invitation reminder', () => {
  it('once per invitation still open after 3 days, however often it fires', async () => {
    const old = await s.post(`/circles/${circleId}/invitations`, { email: 'ivy@example.test' }, ada);
    await s.post(`/circles/${circleId}/invitations`, { email: 'new@example.test' }, ada);
    await s.pool.query(`update app.invitation set created_at = now() - interval '4 days' where id = $1`, [old.body.id]);

    const now = new Date();
    const fired = await Promise.all([remindPendingInvitations(ctx, now), remindPendingInvitations(ctx, now)]);
    expect(fired.sort()).toEqual([0, 1]);
    expect(await remindPendingInvitations(ctx, new Date(now.getTime() + DAY))).toBe(0);
    const rows = await rowsOf('invitation-reminder');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      recipient: 'ivy@example.test',
      props: { inviterName: 'Ada', circleName: 'The Lovelaces' },
      idempotency_key: `invitation-reminder:${old.body.id}`,
    });
    // Its own token, for the same invitation, dying with it.
    const token = await s.tokenRecord(rows[0].props.token);
    expect(token?.purpose).toBe('invitation');
    expect(rows[0].not_after.toISOString()).toBe(old.body.expiresAt);
    const ivy = await s.signedInUser('ivy@example.test', 'Ivy');
    expect(await s.post('/invitations/accept', { token: tokenOf(await linkIn(rows[0])) }, ivy)).toEqual({ status: 200, body: { circleId, role: 'member' } });
  });
});

describe('guardian consent reminders', () => {
  it('one a day while consent is pending, none after consent', async () => {
    const child = (await s.post('/children', { name: 'Byron' }, ada)).body.id;
    await s.post(`/children/${child}/upgrade`, { email: 'byron@example.test' }, ada);
    expect(await remindGuardians(ctx)).toBe(0); // asked less than a day ago
    await s.pool.query(`update app.child_profile set upgrade_requested_at = now() - interval '2 days' where id = $1`, [child]);

    const now = new Date();
    const fired = await Promise.all([remindGuardians(ctx, now), remindGuardians(ctx, now)]);
    expect(fired.sort()).toEqual([0, 1]);
    expect(await remindGuardians(ctx, now)).toBe(0);
    let rows = await rowsOf('guardian-consent-reminder');
    expect(rows).toHaveLength(2); // the request itself, and today's reminder
    expect(rows[1]).toMatchObject({ recipient: 'ada@example.test', props: { childName: 'Byron', guardianName: 'Ada' } });
    expect(rows[1].idempotency_key).toMatch(new RegExp(`^guardian-consent-reminder:${child}:\\d{4}-\\d{2}-\\d{2}$`));

    expect(await remindGuardians(ctx, new Date(now.getTime() + DAY))).toBe(1); // the next day
    rows = await rowsOf('guardian-consent-reminder');
    expect(rows).toHaveLength(3);
    expect(await s.post('/children/consent', { token: tokenOf(await linkIn(rows[2])) })).toEqual({ status: 200, body: { consented: true } });
    expect(await remindGuardians(ctx, new Date(now.getTime() + 2 * DAY))).toBe(0);
  });
});

describe('weekly digest', () => {
  it('one per user with activity by others, per ISO week, however often it fires', async () => {
    await s.post(`/circles/${circleId}/invitations`, { email: 'bob@example.test' }, ada);
    const invite = (await rowsOf('circle-invitation')).find((r) => r.recipient === 'bob@example.test');
    await s.post('/invitations/accept', { token: tokenOf(await linkIn({ template: 'circle-invitation', props: invite.props })) }, bob);
    await s.post(`/circles/${circleId}/media`, { kind: 'photo', count: 3 }, bob);
    await s.post(`/circles/${circleId}/media`, { kind: 'video', count: 1 }, ada);

    const now = new Date();
    const fired = await Promise.all([sendWeeklyDigests(ctx, now), sendWeeklyDigests(ctx, now)]);
    expect(fired).toEqual([3, 3]); // ada (bob's photos), bob and ivy (ada's video): due in both runs...
    await sendWeeklyDigests(ctx, new Date(now.getTime() + 60_000)); // ...and a late retry in the same week
    const rows = await rowsOf('digest');
    expect(rows.map((r) => r.recipient).sort()).toEqual(['ada@example.test', 'bob@example.test', 'ivy@example.test']); // ...written once
    const adas = rows.find((r) => r.recipient === 'ada@example.test');
    expect(adas.props.circles).toEqual([{ id: circleId, name: 'The Lovelaces', items: ['Bob added 3 photos'] }]);
    expect(adas.idempotency_key).toMatch(/^digest:[0-9a-f-]{36}:\d{4}-W\d{2}$/);
  });
});

describe('through pg-boss', () => {
  it('registers the schedules in the configured zone; a job sent twice writes nothing twice', async () => {
    const running = await startSchedules(s.database.url, ctx, (error) => {
      throw error;
    });
    try {
      const schedules = await running.boss.getSchedules();
      expect(schedules.map((x) => [x.name, x.cron, x.timezone]).sort()).toEqual([
        ['app.guardian-consent-reminders', '30 9 * * *', 'Europe/Paris'],
        ['app.housekeeping', '15 3 * * *', 'Europe/Paris'],
        ['app.invitation-reminders', '0 9 * * *', 'Europe/Paris'],
        ['app.weekly-digest', '0 8 * * 1', 'Europe/Paris'],
      ]);
      const before = (await rowsOf('digest')).length;
      const ids = [await running.boss.send('app.weekly-digest', {}), await running.boss.send('app.weekly-digest', {})];
      await waitUntil(
        async () => Promise.all(ids.map((id) => running.boss.getJobById('app.weekly-digest', id!))),
        (jobs) => jobs.every((job) => job?.state === 'completed'),
        30_000,
        'both digest jobs to complete',
      );
      expect((await rowsOf('digest')).length).toBe(before);
    } finally {
      await running.stop();
    }
  });
});

it('housekeeping forgets old send keys, used or expired tokens and dead sessions, and nothing current', async () => {
  const [keys, tokens, sessions] = [await s.count('app.send_once'), await s.count('app.email_token'), await s.count('app.session')];
  expect(keys).toBeGreaterThan(0);
  expect(await housekeeping(ctx)).toBe(0);
  const later = new Date(Date.now() + 70 * DAY); // every key, token and 30-day session is long dead by then
  const deleted = await housekeeping(ctx, later);
  expect(deleted).toBe(keys + tokens + sessions);
});

it('no response body carried an email token', () => s.expectNoResponseCarriedAToken());
