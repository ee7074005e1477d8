// Header injection: a line break in anything that reaches a header never yields a
// header of its own in the message the SMTP server receives. enqueue() refuses such
// props (test/enqueue.*, test/property.*); here rows are written straight into the
// table, as a careless SQL producer could, so the worker's own defences are tested:
// every string prop of every template, with CR LF, LF, CR and Unicode line separators.
import { describe, expect, it } from 'vitest';
import { catalogue } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({ worker: { RETRY_BASE_MS: '50' } });

const INJECTED = 'injected@evil.test';
const SEPARATORS = { crlf: '\r\n', lf: '\n', cr: '\r', u2028: '\u2028', u2029: '\u2029', nel: '\u0085' } as const;
const inject = (value: string, sep: string) => `${value}${sep}X-Injected: yes${sep}Bcc: ${INJECTED}${sep}`;

/** Header names of a raw message (its header block, unfolded). */
function headerNames(raw: string): string[] {
  const block = raw.slice(0, raw.indexOf('\r\n\r\n') === -1 ? raw.length : raw.indexOf('\r\n\r\n'));
  return block
    .split('\r\n')
    .filter((line) => line.length > 0 && !/^[ \t]/.test(line))
    .map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
}

describe('header injection through props written straight into the outbox', () => {
  it('yields no extra header, recipient or Bcc for any template, prop or line separator', async () => {
    const rows: { recipient: string; template: string; prop: string; sep: keyof typeof SEPARATORS }[] = [];
    for (const [template, definition] of Object.entries(catalogue)) {
      const preview = definition.previewProps as Record<string, unknown>;
      for (const [prop, value] of Object.entries(preview)) {
        if (typeof value !== 'string') continue;
        for (const sep of Object.keys(SEPARATORS) as (keyof typeof SEPARATORS)[]) {
          const recipient = `r${rows.length}@example.test`;
          rows.push({ recipient, template, prop, sep });
          await s.pool.query(`insert into mailroom.outbox (template, recipient, props, max_attempts) values ($1, $2, $3::jsonb, 2)`, [
            template,
            recipient,
            JSON.stringify({ ...preview, [prop]: inject(value, SEPARATORS[sep]) }),
          ]);
        }
      }
    }
    const settled = await waitUntil(
      async () => (await s.pool.query<{ recipient: string; status: string; last_error: string | null }>('select recipient, status, last_error from mailroom.outbox')).rows,
      (all) => all.length === rows.length && all.every((r) => r.status === 'sent' || r.status === 'failed'),
      60_000,
      'every row sent or failed',
    );

    expect(s.sink.attemptsFor(INJECTED)).toBe(0);
    for (const message of s.sink.messages) {
      const names = headerNames(message.raw);
      expect(names, message.raw.slice(0, 2000)).not.toContain('x-injected');
      expect(names).not.toContain('bcc');
      expect(names.filter((n) => n === 'subject')).toHaveLength(1);
      expect(message.headers.has('x-injected')).toBe(false);
      expect(message.recipients).toEqual([message.to]);
      expect(message.subject).not.toMatch(/[\r\n]/);
    }
    // A CR or LF in a prop never gets through: the render refuses the props (the row
    // fails for good, naming the prop). Unicode separators are not line breaks in
    // mail: where the schema allows them they are sent, encoded inside the header.
    const byRecipient = new Map(settled.map((r) => [r.recipient, r]));
    const summary: Record<string, number> = {};
    for (const row of rows) {
      const outcome = byRecipient.get(row.recipient)!;
      summary[`${row.sep} ${outcome.status}`] = (summary[`${row.sep} ${outcome.status}`] ?? 0) + 1;
      if (row.sep === 'crlf' || row.sep === 'lf' || row.sep === 'cr') {
        expect(outcome.status, `${row.template}.${row.prop} with ${row.sep}`).toBe('failed');
        expect(outcome.last_error).toContain(`props.${row.prop}`);
        expect(s.sink.messagesTo(row.recipient)).toHaveLength(0);
      }
    }
    console.log(`header injection: ${rows.length} rows, outcomes by separator: ${JSON.stringify(summary)}`);
  });

  it('a line break in the recipient cannot even be written to the table', async () => {
    const error = await s.pool
      .query(`insert into mailroom.outbox (template, recipient, props) values ('account-confirm', $1, '{"token":"token-0123456789abcdef"}')`, [
        `a@example.test\r\nBcc: ${INJECTED}`,
      ])
      .catch((e: { code?: string; constraint?: string }) => e);
    expect(error).toMatchObject({ code: '23514', constraint: 'outbox_recipient_single_line' });
  });
});
