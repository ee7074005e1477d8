// Contract of circles, invitations, child upgrades and media: each endpoint writes
// exactly the expected outbox rows, with links that work, answers 401/403/404/409
// where due, and writes nothing when its transaction fails after the token insert.
import { beforeAll, describe, expect, it } from 'vitest';
import { withOutboxRefusingBoom, linkIn, linksIn, tokenOf, useAppScenario, type OutboxRow } from '../support/app.ts';
import { renderEmail } from '../support/product.ts';

const s = useAppScenario();
const count = s.count;

let ada: string; // circle admin
let bob: string;
let circleId: string;

beforeAll(async () => {
  ada = await s.signedInUser('ada@example.test', 'Ada');
  bob = await s.signedInUser('bob@example.test', 'Bob');
  const circle = await s.post('/circles', { name: 'The Lovelaces' }, ada);
  expect(circle).toEqual({ status: 201, body: { id: expect.any(String), name: 'The Lovelaces', role: 'admin' } });
  circleId = circle.body.id;
  await s.newOutboxRows();
});

async function expectTokenMatchesEmail(row: OutboxRow, purpose: string) {
  const token = await s.tokenRecord(row.props.token);
  expect(token?.purpose).toBe(purpose);
  expect(row.not_after?.toISOString()).toBe(token!.expires_at.toISOString());
}

describe('POST /circles/:id/invitations', () => {
  it('writes the invitation, its token and one circle-invitation row; the accept link works', async () => {
    const response = await s.post(`/circles/${circleId}/invitations`, { email: 'Bob@example.test' }, ada);
    expect(response).toEqual({ status: 201, body: { id: expect.any(String), email: 'bob@example.test', expiresAt: expect.any(String) } });
    const rows = await s.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      template: 'circle-invitation',
      recipient: 'bob@example.test',
      props: { inviterName: 'Ada', circleName: 'The Lovelaces', expiresAt: response.body.expiresAt },
      idempotency_key: `circle-invitation:${response.body.id}`,
    });
    await expectTokenMatchesEmail(rows[0]!, 'invitation');

    const accept = await linkIn(rows[0]!);
    expect(new URL(accept).pathname).toBe('/invitations/accept');
    expect(await s.post('/invitations/accept', { token: tokenOf(accept) })).toMatchObject({ status: 401 });
    expect(await s.post('/invitations/accept', { token: tokenOf(accept) }, bob)).toEqual({ status: 200, body: { circleId, role: 'member' } });
    expect((await s.post('/invitations/accept', { token: tokenOf(accept) }, bob)).body.error.code).toBe('token_used');
  });

  it('401 without a session, 403 for members who are not admins and for outsiders, 404 for no circle, 409 for members and open invitations', async () => {
    const carol = await s.signedInUser('carol@example.test', 'Carol');
    await s.newOutboxRows();
    expect((await s.post(`/circles/${circleId}/invitations`, { email: 'x@example.test' })).status).toBe(401);
    const member = await s.post(`/circles/${circleId}/invitations`, { email: 'x@example.test' }, bob);
    expect(member).toEqual({ status: 403, body: { error: { code: 'not_circle_admin', message: expect.any(String), field: null } } });
    expect((await s.post(`/circles/${circleId}/invitations`, { email: 'x@example.test' }, carol)).body.error.code).toBe('not_circle_member');
    const none = await s.post('/circles/00000000-0000-4000-8000-000000000000/invitations', { email: 'x@example.test' }, ada);
    expect(none).toMatchObject({ status: 404, body: { error: { code: 'circle_not_found', field: 'id' } } });
    expect((await s.post('/circles/not-a-uuid/invitations', { email: 'x@example.test' }, ada)).body.error).toMatchObject({ code: 'invalid_request', field: 'id' });
    expect((await s.post(`/circles/${circleId}/invitations`, { email: 'bob@example.test' }, ada)).body.error).toMatchObject({ code: 'already_member', field: 'email' });
    expect((await s.post(`/circles/${circleId}/invitations`, { email: 'x@example.test' }, ada)).status).toBe(201);
    expect((await s.post(`/circles/${circleId}/invitations`, { email: 'x@example.test' }, ada)).body.error.code).toBe('already_invited');
    expect((await s.newOutboxRows()).map((r) => r.recipient)).toEqual(['x@example.test']);
  });

  it('a failure after the token insert leaves neither invitation, token nor email', async () => {
    await withOutboxRefusingBoom(s.pool, async () => {
      const [invitations, tokens] = [await count('app.invitation'), await count('app.email_token')];
      expect((await s.post(`/circles/${circleId}/invitations`, { email: 'boom@example.test' }, ada)).status).toBe(500);
      expect(await count('app.invitation')).toBe(invitations);
      expect(await count('app.email_token')).toBe(tokens);
      expect(await s.newOutboxRows()).toEqual([]);
    });
  });
});

describe('POST /invitations/decline', () => {
  it('needs only the token, closes the invitation and tells the inviter with one invitation-declined row', async () => {
    const invitation = await s.post(`/circles/${circleId}/invitations`, { email: 'dora@example.test' }, ada);
    const [row] = (await s.newOutboxRows()) as [OutboxRow];
    const { text } = await renderEmail(row.template, row.props, { baseUrl: 'https://app.example' });
    const decline = linksIn(text).find((link) => new URL(link).pathname === '/invitations/decline')!;
    expect(await s.post('/invitations/decline', { token: tokenOf(decline) })).toEqual({ status: 200, body: { declined: true } });

    const rows = await s.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      template: 'invitation-declined',
      recipient: 'ada@example.test',
      props: { inviterName: 'Ada', inviteeEmail: 'dora@example.test', circleName: 'The Lovelaces', circleId },
      idempotency_key: `invitation-declined:${invitation.body.id}`,
    });
    expect((await s.post('/invitations/decline', { token: tokenOf(decline) })).body.error.code).toBe('token_used');
    expect((await s.post('/invitations/accept', { token: tokenOf(decline) }, bob)).body.error.code).toBe('token_used');
    expect(await s.newOutboxRows()).toEqual([]);
  });
});

describe('children', () => {
  it('POST /children/:id/upgrade: a verification to the new address and a consent request to the guardian, both links working', async () => {
    const child = await s.post('/children', { name: 'Byron' }, ada);
    expect(child).toEqual({ status: 201, body: { id: expect.any(String), name: 'Byron' } });
    expect((await s.post(`/children/${child.body.id}/upgrade`, { email: 'byron@example.test' }, bob)).body.error.code).toBe('not_guardian');
    expect((await s.post('/children/00000000-0000-4000-8000-000000000000/upgrade', { email: 'byron@example.test' }, ada)).status).toBe(404);
    expect((await s.post(`/children/${child.body.id}/upgrade`, { email: 'byron@example.test' })).status).toBe(401);
    await s.newOutboxRows();

    expect(await s.post(`/children/${child.body.id}/upgrade`, { email: 'byron@example.test' }, ada)).toEqual({ status: 202, body: { accepted: true } });
    const rows = await s.newOutboxRows();
    expect(rows.map((r) => [r.template, r.recipient]).sort()).toEqual([
      ['child-upgrade-verify', 'byron@example.test'],
      ['guardian-consent-reminder', 'ada@example.test'],
    ]);
    const verify = rows.find((r) => r.template === 'child-upgrade-verify')!;
    const consent = rows.find((r) => r.template === 'guardian-consent-reminder')!;
    expect(verify.props).toMatchObject({ childName: 'Byron', guardianName: 'Ada' });
    expect(consent.props).toMatchObject({ childName: 'Byron', guardianName: 'Ada' });
    await expectTokenMatchesEmail(verify, 'child-upgrade');
    await expectTokenMatchesEmail(consent, 'guardian-consent');

    expect(await s.post('/auth/verify', { token: tokenOf(await linkIn(verify)) })).toEqual({ status: 200, body: { verified: 'child' } });
    const consentLink = await linkIn(consent);
    expect(new URL(consentLink).pathname).toBe('/consent');
    expect(await s.post('/children/consent', { token: tokenOf(consentLink) })).toEqual({ status: 200, body: { consented: true } });
    const profile = await s.pool.query('select upgrade_email, email_verified_at, consent_at from app.child_profile where id = $1', [child.body.id]);
    expect(profile.rows[0]).toMatchObject({ upgrade_email: 'byron@example.test', email_verified_at: expect.any(Date), consent_at: expect.any(Date) });
  });
});

describe('POST /circles/:id/media', () => {
  it('alerts every other member with one new-media-alert row each, the uploader none', async () => {
    const eve = await s.signedInUser('eve@example.test', 'Eve');
    await s.post(`/circles/${circleId}/invitations`, { email: 'eve@example.test' }, ada);
    const [invite] = (await s.newOutboxRows()) as [OutboxRow];
    await s.post('/invitations/accept', { token: tokenOf(await linkIn(invite)) }, eve);

    expect((await s.post(`/circles/${circleId}/media`, { kind: 'photo' }, await s.signedInUser('zed@example.test', 'Zed'))).body.error.code).toBe('not_circle_member');
    await s.newOutboxRows();
    const media = await s.post(`/circles/${circleId}/media`, { kind: 'photo', count: 3, caption: 'Beach' }, bob);
    expect(media).toEqual({ status: 201, body: { id: expect.any(String), alerted: 2 } });
    const rows = await s.newOutboxRows();
    expect(rows.map((r) => r.recipient).sort()).toEqual(['ada@example.test', 'eve@example.test']);
    for (const row of rows) {
      expect(row).toMatchObject({
        template: 'new-media-alert',
        props: { uploaderName: 'Bob', circleName: 'The Lovelaces', circleId, count: 3, kind: 'photo' },
      });
      expect(row.idempotency_key).toMatch(new RegExp(`^new-media-alert:${media.body.id}:`));
    }
    expect(new URL(await linkIn(rows[0]!)).pathname).toBe(`/circles/${circleId}/media`);
    expect((await s.post(`/circles/${circleId}/media`, { kind: 'sculpture' }, bob)).body.error).toMatchObject({ code: 'invalid_request', field: 'kind' });
  });
});

it('no response body carried an email token', () => s.expectNoResponseCarriedAToken());
