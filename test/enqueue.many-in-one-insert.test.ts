// enqueueEmails(): a fan-out (one email per member of a circle) as one INSERT in the
// caller's transaction, with enqueueEmail()'s rules: validated first, idempotency
// keys honoured, ids returned in input order, nothing left behind by a rollback.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { enqueueEmails } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';

const s = useScenario();

const alert = (to: string, key?: string) => ({
  template: 'activity-alert' as const,
  to,
  props: { uploaderName: 'Ada', teamName: 'Family', count: 2, kind: 'photo' as const },
  ...(key ? { idempotencyKey: key } : {}),
});
const count = async () => (await s.pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n as number;

describe('enqueueEmails', () => {
  it('writes every email with one statement and returns the ids in input order', async () => {
    let statements = 0;
    const client = await s.pool.connect();
    try {
      const counting = { query: (text: string, values?: unknown[]) => (statements++, client.query(text, values)) } as unknown as typeof client;
      const notAfter = new Date(Date.now() + 3_600_000);
      const ids = await enqueueEmails(counting, [
        alert('a@example.test'),
        { template: 'account-notice', to: 'b@example.test', props: { changedAt: '2026-11-28T10:00:00Z' }, notAfter, priority: 7 },
        alert('c@example.test'),
      ]);
      expect(statements).toBe(1);
      const { rows } = await s.pool.query('select id, template, recipient, priority, not_after, props from mailroom.outbox where id = any($1)', [ids]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(ids.map((id) => byId.get(id)?.recipient)).toEqual(['a@example.test', 'b@example.test', 'c@example.test']);
      expect(byId.get(ids[0])).toMatchObject({ template: 'activity-alert', priority: -10, props: { count: 2, kind: 'photo' } });
      expect(byId.get(ids[1])).toMatchObject({ template: 'account-notice', priority: 7, not_after: notAfter });
    } finally {
      client.release();
    }
  });

  it('a key already taken (before or within the call) yields the first row, not a second email', async () => {
    const [first] = await enqueueEmails(s.pool, [alert('d@example.test', 'many:d')]);
    const before = await count();
    const ids = await enqueueEmails(s.pool, [alert('d@example.test', 'many:d'), alert('e@example.test', 'many:e'), alert('e@example.test', 'many:e')]);
    expect(ids[0]).toBe(first);
    expect(ids[1]).toBe(ids[2]);
    expect(await count()).toBe(before + 1);
  });

  it('refuses a bad email by its index and writes none of them', async () => {
    const before = await count();
    const error = await enqueueEmails(s.pool, [alert('f@example.test'), alert('not-an-address')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('1.to');
    expect((error as ValidationError).message).toBe('1.to: malformed address "not-an-address"');
    expect(await count()).toBe(before);
    expect(await enqueueEmails(s.pool, [])).toEqual([]);
  });

  it('is part of the caller transaction: a rollback leaves no email', async () => {
    const before = await count();
    const client = await s.pool.connect();
    try {
      await client.query('begin');
      await enqueueEmails(client, [alert('g@example.test'), alert('h@example.test')]);
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect(await count()).toBe(before);
  });
});
