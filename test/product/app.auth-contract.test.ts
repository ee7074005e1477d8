// Contract of the app's account endpoints: each writes exactly the expected outbox
// rows (template, recipient, props whose link works, not_after = the token's
// expiry), answers without any token, and writes nothing when its transaction fails.
import { describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { appConfig, withOutboxRefusingBoom, linkIn, mailbox, PASSWORD, tokenOf, useAppScenario, type OutboxRow } from '../support/app.ts';

const s = useAppScenario();

const count = s.count;

/** The row's token exists (hashed), and the email may not be sent after the token dies. */
async function expectTokenEmail(row: OutboxRow, purpose: string) {
  const token = (await s.tokenRecord(row.props.token))!;
  expect(token).toMatchObject({ purpose, used_at: null });
  expect(row.not_after?.toISOString()).toBe(token.expires_at.toISOString());
  expect(row.props.expiresAt).toBe(token.expires_at.toISOString());
  return token;
}

describe('POST /auth/signup', () => {
  it('writes the user, a verification token and one verify-email row, and answers 202 without the token', async () => {
    await s.newOutboxRows();
    const response = await s.post('/auth/signup', { email: 'Ada@Example.test', password: PASSWORD, name: 'Ada' });
    expect(response).toEqual({ status: 202, body: { accepted: true } });
    const rows = await s.newOutboxRows();
    expect(rows).toHaveLength(1);
    const [row] = rows as [OutboxRow];
    expect(row).toMatchObject({ template: 'verify-email', recipient: 'ada@example.test', props: { name: 'Ada' } });
    const token = await expectTokenEmail(row, 'verify-email');
    expect(row.idempotency_key).toBe(`verify-email:${token.id}`);
    expect(JSON.stringify(response.body)).not.toContain(row.props.token);

    const link = await linkIn(row);
    expect(link).toBe(`https://app.example/verify?token=${row.props.token}`);
    expect(await s.post('/auth/verify', { token: tokenOf(link) })).toEqual({ status: 200, body: { verified: 'account' } });
    const user = await s.pool.query('select verified_at from app.user_account where email = $1', ['ada@example.test']);
    expect(user.rows[0].verified_at).toBeInstanceOf(Date);
  });

  it('a verified address gets the same 202 and nothing is written (a pending one: test/product/app.signup-takeover.test.ts)', async () => {
    await s.newOutboxRows();
    const tokens = await count('app.email_token');
    expect((await s.post('/auth/signup', { email: 'ada@example.test', password: PASSWORD, name: 'Someone' })).status).toBe(202);
    expect(await s.newOutboxRows()).toEqual([]);
    expect(await count('app.email_token')).toBe(tokens);
    // As the app's tests would say it with mailroom/testing: still the one email to Ada.
    const only = await mailbox.expectEnqueued(s.pool, { template: 'verify-email', to: 'ada@example.test' });
    expect(only.props).toMatchObject({ name: 'Ada' });
    await mailbox.expectNoneEnqueued(s.pool, { template: 'verify-email', props: { name: 'Someone' } });
  });

  it('checks its body: errors name the field', async () => {
    const short = await s.post('/auth/signup', { email: 'bob@example.test', password: 'short', name: 'Bob' });
    expect(short).toEqual({ status: 400, body: { error: { code: 'invalid_request', message: expect.any(String), field: 'password' } } });
    const missing = await s.post('/auth/signup', { email: 'bob@example.test', password: PASSWORD });
    expect(missing.body.error).toMatchObject({ code: 'invalid_request', field: 'name' });
    const badEmail = await s.post('/auth/signup', { email: 'not-an-address', password: PASSWORD, name: 'Bob' });
    expect(badEmail.body.error).toMatchObject({ code: 'invalid_request', field: 'email' });
    const notJson = await s.server.inject({ method: 'POST', url: '/auth/signup', payload: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error).toMatchObject({ code: 'invalid_request', field: null });
  });

  it('a failure after the token insert leaves neither user, token nor email', async () => {
    // A real failure inside the same transaction: the outbox refuses this recipient.
    await withOutboxRefusingBoom(s.pool, async () => {
      await s.newOutboxRows();
      const [users, tokens] = [await count('app.user_account'), await count('app.email_token')];
      const response = await s.post('/auth/signup', { email: 'boom@example.test', password: PASSWORD, name: 'Boom' });
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: { code: 'internal', message: 'internal error', field: null } });
      expect(await count('app.user_account')).toBe(users);
      expect(await count('app.email_token')).toBe(tokens);
      expect(await s.newOutboxRows()).toEqual([]);
    });
  });
});

describe('POST /auth/verify', () => {
  it('says why a token is refused: unknown, used, expired', async () => {
    await s.newOutboxRows();
    await s.post('/auth/signup', { email: 'carol@example.test', password: PASSWORD, name: 'Carol' });
    const [row] = (await s.newOutboxRows()) as [OutboxRow];
    const reason = async (token: string) => (await s.post('/auth/verify', { token })).body;

    expect(await reason('x'.repeat(43))).toEqual({ error: { code: 'token_unknown', message: expect.any(String), field: 'token' } });
    const { id } = (await s.tokenRecord(row.props.token))!;
    await s.pool.query(`update app.email_token set expires_at = now() - interval '1 minute' where id = $1`, [id]);
    expect((await reason(row.props.token)).error.code).toBe('token_expired');
    await s.pool.query(`update app.email_token set expires_at = now() + interval '1 hour' where id = $1`, [id]);
    expect((await s.post('/auth/verify', { token: row.props.token })).status).toBe(200);
    expect((await reason(row.props.token)).error.code).toBe('token_used');
    expect((await s.post('/auth/verify', { token: 'short' })).body.error).toMatchObject({ code: 'invalid_request', field: 'token' });
  });
});

describe('POST /auth/verification/resend', () => {
  it('always 202; one resend-verification email per window for an unverified account, nothing otherwise', async () => {
    await s.newOutboxRows();
    expect((await s.post('/auth/verification/resend', { email: 'nobody@example.test' })).status).toBe(202);
    expect((await s.post('/auth/verification/resend', { email: 'ada@example.test' })).status).toBe(202); // verified already
    expect(await s.newOutboxRows()).toEqual([]);

    await s.post('/auth/signup', { email: 'dan@example.test', password: PASSWORD, name: 'Dan' });
    await s.newOutboxRows();
    const tokensBefore = await count('app.email_token');
    expect(await s.post('/auth/verification/resend', { email: 'DAN@example.test' })).toEqual({ status: 202, body: { accepted: true } });
    expect(await s.post('/auth/verification/resend', { email: 'dan@example.test' })).toEqual({ status: 202, body: { accepted: true } });
    const rows = await s.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ template: 'resend-verification', recipient: 'dan@example.test', props: { name: 'Dan' } });
    expect(rows[0]!.idempotency_key).toMatch(/^resend-verification:[0-9a-f-]{36}:\d{4}-/);
    await expectTokenEmail(rows[0]!, 'verify-email');
    expect(await count('app.email_token')).toBe(tokensBefore + 1); // the refused second call left no token behind
    expect((await s.post('/auth/verify', { token: tokenOf(await linkIn(rows[0]!)) })).status).toBe(200);
  });
});

describe('POST /auth/login', () => {
  it('is the only response with a token: the session; wrong or unverified accounts get 401 and 403', async () => {
    expect(await s.post('/auth/login', { email: 'ada@example.test', password: 'wrong password!' })).toEqual({
      status: 401,
      body: { error: { code: 'invalid_credentials', message: 'wrong email or password', field: null } },
    });
    expect((await s.post('/auth/login', { email: 'nobody@example.test', password: PASSWORD })).status).toBe(401);
    await s.post('/auth/signup', { email: 'erin@example.test', password: PASSWORD, name: 'Erin' });
    expect((await s.post('/auth/login', { email: 'erin@example.test', password: PASSWORD })).body.error.code).toBe('email_not_verified');

    const login = await s.post('/auth/login', { email: 'ada@example.test', password: PASSWORD });
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(['expiresAt', 'session']);
    expect((await s.post('/circles', { name: 'Lovelaces' }, login.body.session)).status).toBe(201);
    expect((await s.post('/circles', { name: 'Lovelaces' })).status).toBe(401);
    expect((await s.post('/circles', { name: 'Lovelaces' }, 'y'.repeat(43))).body.error.code).toBe('unauthenticated');
  });
});

describe('POST /auth/password-reset and /confirm', () => {
  it('always 202; a password-reset email for a known address; confirming sets the password, revokes sessions, sends password-changed', async () => {
    const session = await s.signedInUser('fay@example.test', 'Fay');
    await s.newOutboxRows();
    expect(await s.post('/auth/password-reset', { email: 'nobody@example.test' })).toEqual({ status: 202, body: { accepted: true } });
    expect(await s.newOutboxRows()).toEqual([]);

    expect(await s.post('/auth/password-reset', { email: 'fay@example.test' })).toEqual({ status: 202, body: { accepted: true } });
    expect((await s.post('/auth/password-reset', { email: 'fay@example.test' })).status).toBe(202); // same window: no second email
    const rows = await s.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ template: 'password-reset', recipient: 'fay@example.test', props: { name: 'Fay' } });
    const token = await expectTokenEmail(rows[0]!, 'password-reset');
    expect(token.expires_at.getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);

    const link = await linkIn(rows[0]!);
    expect(new URL(link).pathname).toBe('/reset-password');
    const confirm = await s.post('/auth/password-reset/confirm', { token: tokenOf(link), password: 'a brand new password' });
    expect(confirm).toEqual({ status: 200, body: { passwordChanged: true } });
    expect((await s.post('/circles', { name: 'x' }, session)).status).toBe(401); // revoked
    expect((await s.post('/auth/login', { email: 'fay@example.test', password: PASSWORD })).status).toBe(401);
    expect((await s.post('/auth/login', { email: 'fay@example.test', password: 'a brand new password' })).status).toBe(200);

    const notice = await s.newOutboxRows();
    expect(notice).toHaveLength(1);
    expect(notice[0]).toMatchObject({ template: 'password-changed', recipient: 'fay@example.test', props: { name: 'Fay' } });
    const again = await s.post('/auth/password-reset/confirm', { token: tokenOf(link), password: 'yet another password' });
    expect(again.body.error).toMatchObject({ code: 'token_used', field: 'token' });
  });
});

describe('rate limits on the auth routes', () => {
  it('answers 429 in the error shape past the limit', async () => {
    const server = buildServer({ db: s.appDb, logger: createLogger({ level: 'silent' }), config: appConfig({ authRateLimit: { max: 2, timeWindowMs: 60_000 } }) });
    try {
      const call = () => server.inject({ method: 'POST', url: '/auth/password-reset', payload: { email: 'nobody@example.test' } });
      expect((await call()).statusCode).toBe(202);
      expect((await call()).statusCode).toBe(202);
      const limited = await call();
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/try again in \d+ s/), field: null } });
    } finally {
      await server.close();
    }
  });
});

it('no response body carried an email token', () => s.expectNoResponseCarriedAToken());
