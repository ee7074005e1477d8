// Text a user types and the app stores or mails (names of people, circles and
// children; media captions) refuses control characters with a 400 naming the field
// (issue 16). A NUL used to reach PostgreSQL and answer 500; an ESC reached
// terminals through subjects and logs.
import { beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, useAppScenario } from '../support/app.ts';

const s = useAppScenario();

let ada: string;
let circleId: string;

beforeAll(async () => {
  ada = await s.signedInUser('ada@example.test', 'Ada');
  circleId = (await s.post('/circles', { name: 'The Lovelaces' }, ada)).body.id;
});

// NUL, ESC (the start of a terminal escape), BEL, DEL, a C1 control (CSI), a bidi
// override (shows text reversed) and a line separator.
const HOSTILE = { nul: 'Ada\u0000', esc: 'Ada\u001b[31m red', bel: 'Ada\u0007', del: 'Ada\u007f', csi: 'Ada\u009b2J', rlo: 'Ada\u202egnp.exe', lsep: 'Ada\u2028Bcc' };

const refusal = (field: string) => ({ status: 400, body: { error: { code: 'invalid_request', message: expect.stringContaining(field), field } } });

describe('control characters in user text', () => {
  for (const [what, name] of Object.entries(HOSTILE)) {
    it(`${what}: refused in a signup name, a circle name, a child name and a caption, nothing written`, async () => {
      const [users, circles, children, media] = await Promise.all(
        ['app.user_account', 'app.circle', 'app.child_profile', 'app.media_item'].map((table) => s.count(table)),
      );
      expect(await s.post('/auth/signup', { email: `${what}@example.test`, password: PASSWORD, name })).toEqual(refusal('name'));
      expect(await s.post('/circles', { name }, ada)).toEqual(refusal('name'));
      expect(await s.post('/children', { name }, ada)).toEqual(refusal('name'));
      expect(await s.post(`/circles/${circleId}/media`, { kind: 'photo', caption: name }, ada)).toEqual(refusal('caption'));
      expect(await s.count('app.user_account')).toBe(users);
      expect(await s.count('app.circle')).toBe(circles);
      expect(await s.count('app.child_profile')).toBe(children);
      expect(await s.count('app.media_item')).toBe(media);
    });
  }

  it('the message says what is wrong in words, not as a regular expression', async () => {
    const { body } = await s.post('/auth/signup', { email: 'words@example.test', password: PASSWORD, name: 'A\u0000' });
    expect(body.error.message).toBe('name must be one line of text, not blank, without control characters');
  });

  it('ordinary text still passes: accents, other scripts, emoji, punctuation; a caption may span lines', async () => {
    for (const name of ['Zoë Ñandú-O’Brien', '李小龙', 'אדה לאבלייס', 'Ada 👩‍💻 (née Byron) & co.']) {
      expect((await s.post('/circles', { name }, ada)).status).toBe(201);
      expect((await s.post('/children', { name }, ada)).status).toBe(201);
    }
    expect((await s.post('/auth/signup', { email: 'zoe@example.test', password: PASSWORD, name: 'Zoë' })).status).toBe(202);
    expect((await s.post(`/circles/${circleId}/media`, { kind: 'photo', caption: 'At the beach\nwith\tGrandma' }, ada)).status).toBe(201);
  });
});
