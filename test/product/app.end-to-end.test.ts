// The reference app end to end: every link comes out of an email the worker really
// delivered to a real SMTP server. Sign up, verify, reset the password, invite,
// decline; and no response body in the whole run carries an email token.
import { expect, it } from 'vitest';
import { linksIn, PASSWORD, tokenOf, useAppScenario } from '../support/app.ts';

const s = useAppScenario({ worker: true });

/** The n-th (1-based) email delivered to `address`, once it has arrived. */
async function mailTo(address: string, n: number) {
  await s.sink.waitFor(() => s.sink.messagesTo(address).length >= n, 30_000);
  return s.sink.messagesTo(address)[n - 1]!;
}

/** The link in a delivered email whose path is `path`, read from its text and its HTML. */
function link(message: { text: string; html: string }, path: string): string {
  const found = [...linksIn(message.text), ...linksIn(message.html)].find((candidate) => new URL(candidate).pathname === path);
  if (!found) throw new Error(`no ${path} link in: ${message.text}`);
  return found;
}

it('signup -> verify -> password reset -> invite -> decline, through the worker and SMTP, no token in any response', async () => {
  const emailTokens: string[] = [];
  const take = (href: string) => {
    const token = tokenOf(href);
    emailTokens.push(token);
    return token;
  };

  expect((await s.post('/auth/signup', { email: 'ada@example.test', password: PASSWORD, name: 'Ada' })).status).toBe(202);
  const verify = await mailTo('ada@example.test', 1);
  expect(verify.subject).toMatch(/confirm|verify/i);
  expect(await s.post('/auth/verify', { token: take(link(verify, '/verify')) })).toEqual({ status: 200, body: { verified: 'account' } });
  const first = await s.post('/auth/login', { email: 'ada@example.test', password: PASSWORD });
  expect(first.status).toBe(200);

  expect((await s.post('/auth/password-reset', { email: 'ada@example.test' })).status).toBe(202);
  const reset = await mailTo('ada@example.test', 2);
  const newPassword = 'a much better passphrase';
  expect(await s.post('/auth/password-reset/confirm', { token: take(link(reset, '/reset-password')), password: newPassword })).toEqual({
    status: 200,
    body: { passwordChanged: true },
  });
  const changed = await mailTo('ada@example.test', 3);
  expect(changed.subject).toMatch(/password/i);
  expect((await s.post('/circles', { name: 'Old session' }, first.body.session)).status).toBe(401);
  const login = await s.post('/auth/login', { email: 'ada@example.test', password: newPassword });
  expect(login.status).toBe(200);
  const session = login.body.session as string;

  const circle = await s.post('/circles', { name: 'The Lovelaces' }, session);
  expect(circle.status).toBe(201);
  expect((await s.post(`/circles/${circle.body.id}/invitations`, { email: 'bob@example.test' }, session)).status).toBe(201);
  const invitation = await mailTo('bob@example.test', 1);
  expect(invitation.subject).toBe('You are invited to join a circle on Circles'); // no user text in a subject
  expect(invitation.text).toContain('The Lovelaces');
  const accept = take(link(invitation, '/invitations/accept'));
  const decline = take(link(invitation, '/invitations/decline'));
  expect(accept).toBe(decline); // one token answers either way
  expect(await s.post('/invitations/decline', { token: decline })).toEqual({ status: 200, body: { declined: true } });
  const declined = await mailTo('ada@example.test', 4);
  expect(declined.text).toContain('bob@example.test');
  expect(link(declined, `/circles/${circle.body.id}`)).toBe(`https://app.example/circles/${circle.body.id}`);

  // Every email token of the run, and the session of every login but where it was issued.
  expect(emailTokens).toHaveLength(4);
  expect(s.responseBodies).toHaveLength(10); // every response of the run
  for (const body of s.responseBodies) for (const token of emailTokens) expect(body).not.toContain(token);
  const carrying = s.responseBodies.filter((body) => body.includes(session));
  expect(carrying).toEqual([JSON.stringify(login.body)]);
  // Sent rows keep no token (mailroom scrubs sensitive props after the send).
  const { rows } = await s.pool.query(`select count(*)::int as n from mailroom.outbox where props ? 'token' and status = 'sent'`);
  expect(rows[0].n).toBe(0);
});
