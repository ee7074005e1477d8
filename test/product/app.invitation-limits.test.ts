// Invitation spam (issue 16): a verified user could mail any number of strangers.
// Invitations are capped per inviter and per circle over the last 24 hours
// (APP_INVITATIONS_PER_INVITER_PER_DAY, APP_INVITATIONS_PER_CIRCLE_PER_DAY); past a
// cap the answer is 429 in the app's error shape and nothing is written. (That no
// user text reaches an invitation's subject is test/product/templates.render.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppSettings } from '../../app/settings.ts';
import { buildServer, type Server } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { appConfig, useAppScenario } from '../support/app.ts';

const s = useAppScenario();
const PER_INVITER = 3;
const PER_CIRCLE = 4;

let limited: Server;
let ada: string;
let bob: string;
let circleId: string;

beforeAll(async () => {
  limited = buildServer({
    db: s.appDb,
    logger: createLogger({ level: 'silent' }),
    config: appConfig({ invitationLimits: { perInviterPerDay: PER_INVITER, perCirclePerDay: PER_CIRCLE } }),
  });
  await limited.ready();
  ada = await s.signedInUser('ada@example.test', 'Ada');
  bob = await s.signedInUser('bob@example.test', 'Bob');
  circleId = (await s.post('/circles', { name: 'The Lovelaces' }, ada)).body.id;
  // Bob is a second admin of the same circle: his invitations count against the circle's cap too.
  await s.pool.query(`insert into app.membership (circle_id, user_id, role) select $1, id, 'admin' from app.user_account where email = 'bob@example.test'`, [circleId]);
});
afterAll(() => limited?.close());

const invite = async (circle: string, email: string, session: string) => {
  const response = await limited.inject({ method: 'POST', url: `/circles/${circle}/invitations`, payload: { email }, headers: { authorization: `Bearer ${session}` } });
  return { status: response.statusCode, body: response.json(), retryAfter: response.headers['retry-after'] };
};
const written = async () => ({ invitations: await s.count('app.invitation'), tokens: await s.count('app.email_token'), emails: await s.count('mailroom.outbox') });

describe('invitations per inviter and per circle a day', () => {
  it('an inviter past the cap gets 429 in the error shape, with Retry-After, and nothing is written', async () => {
    for (let i = 0; i < PER_INVITER; i++) expect((await invite(circleId, `stranger${i}@example.test`, ada)).status).toBe(201);
    const before = await written();
    const refused = await invite(circleId, 'one-more@example.test', ada);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: { code: 'too_many_invitations', message: expect.stringMatching(/3 invitations .*24 hours/), field: null } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(86_000);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(86_400);
    expect(await written()).toEqual(before);
  });

  it('the circle has its own cap, shared by all its admins', async () => {
    expect((await invite(circleId, 'from-bob-1@example.test', bob)).status).toBe(201); // the circle's 4th
    const refused = await invite(circleId, 'from-bob-2@example.test', bob);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'too_many_invitations', message: expect.stringMatching(/circle .*4 invitations/), field: null });
    // Bob is under his own cap: another circle of his still takes his invitations.
    const other = (await s.post('/circles', { name: 'Bob’s other circle' }, bob)).body.id as string;
    expect((await invite(other, 'from-bob-2@example.test', bob)).status).toBe(201);
  });

  it('counts the last 24 hours: older invitations free their place', async () => {
    expect((await invite(circleId, 'later@example.test', ada)).status).toBe(429);
    await s.pool.query(`update app.invitation set created_at = now() - interval '25 hours' where circle_id = $1`, [circleId]);
    expect((await invite(circleId, 'later@example.test', ada)).status).toBe(201);
  });

  it('holds under concurrent requests: exactly the cap gets through', async () => {
    const carol = await s.signedInUser('carol@example.test', 'Carol');
    const circle = (await s.post('/circles', { name: 'Carol’s' }, carol)).body.id as string;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => invite(circle, `rush${i}@example.test`, carol)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(PER_INVITER);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(8 - PER_INVITER);
  });
});

describe('settings', () => {
  it('default to 20 per inviter and 50 per circle; the environment sets them; a bad value names its variable', () => {
    expect(loadAppSettings({})).toMatchObject({ APP_INVITATIONS_PER_INVITER_PER_DAY: 20, APP_INVITATIONS_PER_CIRCLE_PER_DAY: 50 });
    expect(loadAppSettings({ APP_INVITATIONS_PER_INVITER_PER_DAY: '5', APP_INVITATIONS_PER_CIRCLE_PER_DAY: '7' })).toMatchObject({
      APP_INVITATIONS_PER_INVITER_PER_DAY: 5,
      APP_INVITATIONS_PER_CIRCLE_PER_DAY: 7,
    });
    expect(() => loadAppSettings({ APP_INVITATIONS_PER_CIRCLE_PER_DAY: '0' })).toThrow(/APP_INVITATIONS_PER_CIRCLE_PER_DAY/);
  });

  it('the defaults hold on the app as mounted without options', async () => {
    const session = await s.signedInUser('dora@example.test', 'Dora');
    const circle = (await s.post('/circles', { name: 'Dora’s' }, session)).body.id as string;
    await s.pool.query(
      `insert into app.invitation (circle_id, email, invited_by, expires_at)
       select $1, 'seed' || n || '@example.test', (select id from app.user_account where email = 'dora@example.test'), now() + interval '7 days'
       from generate_series(1, 19) n`,
      [circle],
    );
    expect((await s.post(`/circles/${circle}/invitations`, { email: 'twentieth@example.test' }, session)).status).toBe(201);
    expect((await s.post(`/circles/${circle}/invitations`, { email: 'twenty-first@example.test' }, session)).status).toBe(429);
  });
});
