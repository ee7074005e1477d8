// The catalogue's rules at the two doors (TypeScript and SQL) for templates other
// than verify-email, and what happens after the send: locale honoured, token
// scrubbed from the row, attempt history kept.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/index.ts';
import { config, enqueueEmail, templateNames } from '../support/product.ts';
import { useScenario } from '../support/scenario.ts';
import { waitUntil } from '../support/worker.ts';

const s = useScenario({ worker: true, config });

const count = async () => (await s.pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n as number;
const sqlError = (template: string, props: unknown) =>
  s.pool
    .query('select mailroom.enqueue($1, $2, $3::jsonb)', [template, 'x@example.test', JSON.stringify(props)])
    .then(() => undefined, (e: pg.DatabaseError) => e);

describe('props are checked against the template, from TypeScript and from SQL', () => {
  it('a missing prop is named', async () => {
    const before = await count();
    const ts = await enqueueEmail(s.pool, {
      template: 'circle-invitation',
      to: 'x@example.test',
      props: { token: 'token-0123456789abcdef', inviterName: 'Ada' } as never,
    }).catch((e: unknown) => e);
    expect(ts).toBeInstanceOf(ValidationError);
    expect((ts as ValidationError).field).toBe('props.circleName');

    const viaSql = await sqlError('circle-invitation', { token: 'token-0123456789abcdef', inviterName: 'Ada' });
    expect(viaSql?.detail).toBe('field=props.circleName');
    expect(await count()).toBe(before);
  });

  it('a mistyped prop is named', async () => {
    const before = await count();
    const props = { uploaderName: 'C', circleName: 'Family', circleId: 'c_1', count: 'twelve', kind: 'photo' };
    const ts = await enqueueEmail(s.pool, { template: 'new-media-alert', to: 'x@example.test', props: props as never }).catch((e: unknown) => e);
    expect((ts as ValidationError).field).toBe('props.count');

    const viaSql = await sqlError('new-media-alert', props);
    expect(viaSql?.detail).toBe('field=props.count');
    expect(viaSql?.message).toContain('must be a JSON integer, got string');
    const fractional = await sqlError('new-media-alert', { ...props, count: 1.5 });
    expect(fractional?.detail).toBe('field=props.count');
    const list = await sqlError('digest', { periodStart: '2026-11-21T00:00:00Z', periodEnd: '2026-11-28T00:00:00Z', circles: 'none' });
    expect(list?.detail).toBe('field=props.circles');
    expect(await count()).toBe(before);
  });

  it('no prop reaches a header (subjects are fixed strings): the SQL catalogue lists none', async () => {
    const { rows } = await s.pool.query('select name, header_props from mailroom.template where name = any($1)', [templateNames]);
    expect(rows).toHaveLength(templateNames.length);
    expect(rows.filter((row) => row.header_props.length > 0)).toEqual([]);
  });
});

describe('after the send', () => {
  it('sends in the row locale, scrubs the token from the row and keeps the attempt', async () => {
    const id = await enqueueEmail(s.pool, {
      template: 'password-reset',
      to: 'francoise@example.test',
      locale: 'fr',
      props: { token: 'reset-token-0123456789', name: 'Françoise', expiresAt: '2026-11-28T13:00:00Z' },
    });
    const row = await waitUntil(
      async () => (await s.pool.query('select status, props from mailroom.outbox where id = $1', [id])).rows[0],
      (r) => r.status === 'sent',
    );
    const [message] = s.sink.messagesTo('francoise@example.test');
    expect(message!.subject).toBe('Réinitialisez votre mot de passe');
    expect(message!.text).toContain('https://app.example/reset-password?token=reset-token-0123456789');
    expect(message!.text).toContain('Bonjour Françoise,');

    expect(row.props).toEqual({ name: 'Françoise', expiresAt: '2026-11-28T13:00:00Z' });
    const { rows } = await s.pool.query('select outcome from mailroom.delivery_attempt where outbox_id = $1', [id]);
    expect(rows).toEqual([{ outcome: 'sent' }]);
  });

  it('fails at once, naming the prop, a row whose prop breaks the schema (written around mailroom.enqueue)', async () => {
    // mailroom.enqueue() refuses a token too short for the schema (migration 0010); a row
    // written by a plain INSERT (or before 0010) still meets the renderer's check.
    const refused = await s.pool.query(`select mailroom.enqueue('verify-email', 'short@example.test', '{"token": "short"}')`).catch((e: { detail?: string }) => e);
    expect((refused as { detail?: string }).detail).toBe('field=props.token');
    const { rows } = await s.pool.query(
      `insert into mailroom.outbox (template, recipient, props) values ('verify-email', 'short@example.test', '{"token": "short"}') returning id`,
    );
    const row = await waitUntil(
      async () => (await s.pool.query('select status, attempts, last_error from mailroom.outbox where id = $1', [rows[0].id])).rows[0],
      (r) => r.status === 'failed',
    );
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('props.token');
    expect(s.sink.messagesTo('short@example.test')).toHaveLength(0);
  });

  it('a name with a line break is refused by mailroom.enqueue, and fails at render unsent when written around it, naming the prop', async () => {
    for (const [to, circleName] of [['lf@example.test', 'A\nBcc: y@evil.test'], ['crlf@example.test', 'A\r\nBcc: y@evil.test']] as const) {
      const props = JSON.stringify({ token: 'token-0123456789abcdef', inviterName: 'Ada', circleName });
      const refused = await s.pool.query('select mailroom.enqueue($1, $2, $3::jsonb)', ['circle-invitation', to, props]).catch((e: { detail?: string }) => e);
      expect((refused as { detail?: string }).detail).toBe('field=props.circleName');
      const { rows } = await s.pool.query('insert into mailroom.outbox (template, recipient, props) values ($1, $2, $3::jsonb) returning id', [
        'circle-invitation',
        to,
        props,
      ]);
      const row = await waitUntil(
        async () => (await s.pool.query('select status, last_error from mailroom.outbox where id = $1', [rows[0].id])).rows[0],
        (r) => r.status === 'failed',
      );
      expect(row.last_error).toContain('props.circleName');
      expect(s.sink.messagesTo(to)).toHaveLength(0);
    }
  });
});

describe('one-click unsubscribe, template by template', () => {
  // The product's non-essential emails: digests, new-media alerts, reminders. Account and
  // security emails (verification, password reset and change, invitations) are essential.
  const NON_ESSENTIAL: Record<string, string> = {
    digest: 'digest',
    'new-media-alert': 'new-media',
    'invitation-reminder': 'reminders',
    'guardian-consent-reminder': 'reminders',
  };

  it('carries List-Unsubscribe and List-Unsubscribe-Post, and the link in the body, exactly on the non-essential templates', async () => {
    const sent: [string, string][] = [];
    for (const name of templateNames) {
      const to = `unsubscribe-${name}@example.test`;
      sent.push([name, await enqueueEmail(s.pool, { template: name as never, to, props: config.templates[name as keyof typeof config.templates].previewProps as never })]);
    }
    await waitUntil(
      async () => (await s.pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status = 'sent'`, [sent.map(([, id]) => id)])).rows[0].n,
      (n) => n === sent.length,
    );
    const seen: Record<string, string | null> = {};
    for (const [name] of sent) {
      const [message] = s.sink.messagesTo(`unsubscribe-${name}@example.test`);
      const link = /^List-Unsubscribe:\s+<([^>]+)>\r?$/m.exec(message!.raw)?.[1] ?? null;
      seen[name] = link && /\/unsubscribe\/([a-z-]+)\//.exec(link)![1]!;
      if (link) {
        expect(message!.raw, name).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
        expect(message!.text, name).toContain(link);
        expect(message!.html, name).toContain(`href="${link}"`);
      } else {
        expect(message!.raw, name).not.toMatch(/^List-Unsubscribe/im);
        expect(message!.text, name).not.toMatch(/unsubscribe/i);
      }
    }
    expect(seen).toEqual(Object.fromEntries(templateNames.map((name) => [name, NON_ESSENTIAL[name] ?? null])));
  });
});

