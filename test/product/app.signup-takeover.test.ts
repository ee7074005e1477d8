// Account pre-hijacking (issue 16): someone signs up an address that is not theirs
// with a password of their own, before its owner does. Whatever the order of the
// signups, the person who reads the mailbox ends with the only password that works,
// and no answer to a signup tells anyone whether the address was taken.
import { describe, expect, it } from 'vitest';
import { linkIn, PASSWORD, tokenOf, useAppScenario, type OutboxRow } from '../support/app.ts';

const s = useAppScenario();

const ATTACKER_PASSWORD = 'the attacker chose this';
const OWNER_PASSWORD = 'the owner chose this one';

const signup = (email: string, password: string, name: string) => s.post('/auth/signup', { email, password, name });
const login = async (email: string, password: string) => (await s.post('/auth/login', { email, password })).status;

/** The token of the verify-email rows written since the last call, oldest first. */
async function verifyTokens(): Promise<string[]> {
  const rows = (await s.newOutboxRows()).filter((row: OutboxRow) => row.template === 'verify-email');
  return Promise.all(rows.map(async (row) => tokenOf(await linkIn(row))));
}

describe('a signup for an address nobody has verified yet', () => {
  it('the owner, signing up after the attacker, verifies through their mailbox and theirs is the only password that works', async () => {
    await s.newOutboxRows();
    const first = await signup('victim@example.test', ATTACKER_PASSWORD, 'Mallory');
    const second = await signup('victim@example.test', OWNER_PASSWORD, 'Victor');
    expect(first).toEqual({ status: 202, body: { accepted: true } });
    expect(second).toEqual(first); // the same answer: nothing says the address was taken

    // The owner opens the newest email in the mailbox; the front end's /verify page posts its token with the password typed there.
    const newest = (await verifyTokens()).at(-1)!;
    expect(await s.post('/auth/verify', { token: newest, password: OWNER_PASSWORD })).toEqual({ status: 200, body: { verified: 'account' } });
    expect(await login('victim@example.test', ATTACKER_PASSWORD)).toBe(401);
    expect(await login('victim@example.test', OWNER_PASSWORD)).toBe(200);
    const account = await s.pool.query('select name, verified_at from app.user_account where email = $1', ['victim@example.test']);
    expect(account.rows[0]).toMatchObject({ name: 'Victor', verified_at: expect.any(Date) });
  });

  it('the second signup replaces the first: a fresh link, the first one dead, and verification asks which password to keep', async () => {
    await s.newOutboxRows();
    await signup('vince@example.test', ATTACKER_PASSWORD, 'Mallory');
    await signup('vince@example.test', OWNER_PASSWORD, 'Vince');
    const tokens = await verifyTokens();
    expect(tokens).toHaveLength(2);
    const [attackers, owners] = tokens as [string, string];
    expect((await s.post('/auth/verify', { token: attackers })).body.error).toMatchObject({ code: 'token_used', field: 'token' });

    // Two signups named this address: the link's holder (the mailbox's owner) says which password to keep.
    const bare = await s.post('/auth/verify', { token: owners });
    expect(bare).toEqual({ status: 400, body: { error: { code: 'password_required', message: expect.any(String), field: 'password' } } });
    expect((await s.tokenRecord(owners))?.used_at).toBeNull(); // refused: the link still works
    expect(await s.post('/auth/verify', { token: owners, password: OWNER_PASSWORD })).toEqual({ status: 200, body: { verified: 'account' } });
    expect(await login('vince@example.test', ATTACKER_PASSWORD)).toBe(401);
    expect(await login('vince@example.test', OWNER_PASSWORD)).toBe(200);
  });

  it('an attacker signing up again after the owner still cannot keep the account: the owner picks the password when verifying', async () => {
    await s.newOutboxRows();
    await signup('viola@example.test', ATTACKER_PASSWORD, 'Mallory');
    await signup('viola@example.test', OWNER_PASSWORD, 'Viola');
    await signup('viola@example.test', ATTACKER_PASSWORD, 'Mallory'); // the last email to the mailbox is the attacker's doing
    const tokens = await verifyTokens();
    expect(tokens).toHaveLength(3);
    const latest = tokens.at(-1)!;

    // Clicking the only live link, whoever's signup sent it, ends with the password its holder types.
    expect((await s.post('/auth/verify', { token: latest })).body.error.code).toBe('password_required');
    expect((await s.post('/auth/verify', { token: latest, password: OWNER_PASSWORD })).status).toBe(200);
    expect(await login('viola@example.test', ATTACKER_PASSWORD)).toBe(401);
    expect(await login('viola@example.test', OWNER_PASSWORD)).toBe(200);
  });

  it('revokes the pending account’s sessions', async () => {
    await signup('vera@example.test', ATTACKER_PASSWORD, 'Mallory');
    // No session can be opened before verification today; one planted by hand stands for any that would be.
    const { rows } = await s.pool.query(
      `insert into app.session (user_id, token_hash, expires_at)
       select id, gen_random_uuid()::text::bytea, now() + interval '1 day' from app.user_account where email = 'vera@example.test' returning id`,
    );
    await signup('vera@example.test', OWNER_PASSWORD, 'Vera');
    const session = await s.pool.query('select revoked_at from app.session where id = $1', [rows[0].id]);
    expect(session.rows[0].revoked_at).toBeInstanceOf(Date);
  });

  it('a single signup verifies as before, without a password (and may choose one then)', async () => {
    await s.newOutboxRows();
    await signup('uma@example.test', PASSWORD, 'Uma');
    const [token] = (await verifyTokens()) as [string];
    expect(await s.post('/auth/verify', { token })).toEqual({ status: 200, body: { verified: 'account' } });
    expect(await login('uma@example.test', PASSWORD)).toBe(200);

    await signup('una@example.test', PASSWORD, 'Una');
    const [una] = (await verifyTokens()) as [string];
    expect((await s.post('/auth/verify', { token: una, password: 'short' })).body.error).toMatchObject({ code: 'invalid_request', field: 'password' });
    expect((await s.post('/auth/verify', { token: una, password: OWNER_PASSWORD })).status).toBe(200);
    expect(await login('una@example.test', PASSWORD)).toBe(401);
    expect(await login('una@example.test', OWNER_PASSWORD)).toBe(200);
  });
});

describe('a signup for a verified address', () => {
  it('answers the same 202 and changes nothing: the password, the name, no token, no email', async () => {
    const session = await s.signedInUser('owner@example.test', 'Olive');
    await s.newOutboxRows();
    const tokens = await s.count('app.email_token');
    expect(await signup('owner@example.test', ATTACKER_PASSWORD, 'Mallory')).toEqual({ status: 202, body: { accepted: true } });
    expect(await s.newOutboxRows()).toEqual([]);
    expect(await s.count('app.email_token')).toBe(tokens);
    expect(await login('owner@example.test', ATTACKER_PASSWORD)).toBe(401);
    expect(await login('owner@example.test', PASSWORD)).toBe(200);
    expect((await s.post('/circles', { name: 'Still signed in' }, session)).status).toBe(201);
    const account = await s.pool.query('select name from app.user_account where email = $1', ['owner@example.test']);
    expect(account.rows[0].name).toBe('Olive');
  });
});

it('new, pending and verified addresses get byte-identical answers', async () => {
  await s.signedInUser('known@example.test', 'Kim');
  await signup('pending@example.test', PASSWORD, 'Pat');
  const answers = await Promise.all(
    ['fresh@example.test', 'pending@example.test', 'known@example.test'].map(async (email) => {
      const response = await s.server.inject({ method: 'POST', url: '/auth/signup', payload: { email, password: PASSWORD, name: 'Someone' } });
      const { date: _date, ...headers } = response.headers;
      return { status: response.statusCode, body: response.body, headers };
    }),
  );
  expect(answers[1]).toEqual(answers[0]);
  expect(answers[2]).toEqual(answers[0]);
});

it('no response body carried an email token', () => s.expectNoResponseCarriedAToken());
