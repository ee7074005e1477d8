// Rendering on worker threads (RENDER_THREADS): the same emails and the same
// errors as inline rendering, a dead thread loses no email, and the threads end
// with the pool, and with the worker that owns it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RenderError, SendError } from '../src/errors.ts';
import { catalogue, templateNames } from '../src/templates/catalogue.ts';
import { createRenderPool, type RenderPool } from '../src/templates/render-pool.ts';
import { renderEmail } from '../src/templates/render.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

const BASE = 'https://circles.example';
const crashingHandler = pathToFileURL(join(import.meta.dirname, 'fixtures/crashing-render-handler.ts')).href;

const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('a pool of two render threads', () => {
  let pool: RenderPool;
  beforeAll(() => {
    pool = createRenderPool({ threads: 2 });
  });
  afterAll(() => pool.close());

  it('renders every template, in every locale, exactly as inline rendering does', async () => {
    const jobs = templateNames.flatMap((name) =>
      [undefined, 'fr', 'fr-CA', 'de'].map((locale) => ({ name, context: { baseUrl: BASE, ...(locale ? { locale } : {}) } })),
    );
    // All at once, so both threads take a share.
    const pooled = await Promise.all(jobs.map((job) => pool.render(job.name, catalogue[job.name].previewProps, job.context)));
    for (const [i, job] of jobs.entries()) {
      expect(pooled[i], `${job.name} ${job.context.locale ?? ''}`).toEqual(await renderEmail(job.name, catalogue[job.name].previewProps, job.context));
    }
    expect(pool.threads()).toBe(2);
  });

  it('fails a render with a RenderError (permanent), with the message inline rendering gives', async () => {
    const cases: [string, unknown][] = [
      ['verify-email', { token: 42 }],
      ['circle-invitation', { token: 'token-0123456789abcdef', inviterName: 'A\r\nBcc: x@evil.test', circleName: 'C' }],
      ['no-such-template', {}],
    ];
    for (const [template, props] of cases) {
      const pooled = await rejection(pool.render(template, props, { baseUrl: BASE }));
      const inline = await rejection(renderEmail(template, props, { baseUrl: BASE }));
      expect(pooled).toBeInstanceOf(RenderError);
      expect((pooled as RenderError).errorClass).toBe('permanent');
      expect((pooled as RenderError).retryable).toBe(false);
      expect((pooled as Error).message).toBe((inline as Error).message);
    }
  });

  it('ends its threads on close', async () => {
    const own = createRenderPool({ threads: 2 });
    await own.render('password-reset', catalogue['password-reset'].previewProps);
    expect(own.threads()).toBe(2);
    await own.close();
    expect(own.threads()).toBe(0);
  });
});

describe('a render thread that dies', () => {
  let dir: string;
  let pool: RenderPool;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailroom-render-crash-'));
    pool = createRenderPool({ threads: 2, handler: crashingHandler });
  });
  afterAll(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no email: the ones it was rendering are rendered on another thread, and it is replaced', async () => {
    const marker = join(dir, 'once');
    const props = { ...catalogue['verify-email'].previewProps, crashThread: marker };
    const others = Array.from({ length: 20 }, () => pool.render('password-reset', catalogue['password-reset'].previewProps, { baseUrl: BASE }));
    const email = await pool.render('verify-email', props, { baseUrl: BASE });
    expect(await readFile(marker, 'utf8')).toBe('crashed\n'); // the thread did die
    expect(email).toEqual(await renderEmail('verify-email', catalogue['verify-email'].previewProps, { baseUrl: BASE }));
    expect(await Promise.all(others)).toHaveLength(20);
    await waitUntil(async () => pool.threads(), (n) => n === 2, 20_000, 'a replacement thread');
  });

  it('fails an email that kills two threads with a transient error, so the row is retried later', async () => {
    const marker = join(dir, 'always');
    const props = { ...catalogue['verify-email'].previewProps, crashThread: marker, crashEveryTime: true };
    const error = await rejection(pool.render('verify-email', props, { baseUrl: BASE }));
    expect(error).toBeInstanceOf(SendError);
    expect(error).not.toBeInstanceOf(RenderError);
    expect((error as SendError).errorClass).toBe('transient');
    expect((await readFile(marker, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
    // The pool carries on with fresh threads.
    const email = await pool.render('password-reset', catalogue['password-reset'].previewProps, { baseUrl: BASE });
    expect(email.subject).toBe('Reset your password');
  });
});

describe('a worker with RENDER_THREADS=2', () => {
  const s = useScenario();

  it('sends, fails a bad row for good as a render error, and ends its threads on stop', async () => {
    const worker = await startInProcessWorker(s.env({ RENDER_THREADS: '2' }));
    try {
      expect(worker.worker.health().renderThreads).toBe(2);
      await s.pool.query(
        `insert into mailroom.outbox (template, recipient, props) values
           ('verify-email', 'good@example.test', '{"name": "Ada", "token": "token-0123456789abcdef"}'),
           ('verify-email', 'bad@example.test', '{"token": 42}')`,
      );
      const rows = await waitUntil(
        async () => (await s.pool.query(`select recipient, status from mailroom.outbox order by recipient`)).rows,
        (rows) => rows.every((r) => r.status === 'sent' || r.status === 'failed'),
        30_000,
        'both rows settled',
      );
      expect(rows).toEqual([
        { recipient: 'bad@example.test', status: 'failed' },
        { recipient: 'good@example.test', status: 'sent' },
      ]);
      const attempt = (await s.pool.query(
        `select a.outcome, a.error_class, a.error_message from mailroom.delivery_attempt a
           join mailroom.outbox o on o.id = a.outbox_id where o.recipient = 'bad@example.test'`,
      )).rows;
      expect(attempt).toEqual([{ outcome: 'failed', error_class: 'permanent', error_message: expect.stringMatching(/^template verify-email failed to render: props\.token/) }]);
      const sent = s.sink.messagesTo('good@example.test');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.text).toContain('Hi Ada');
    } finally {
      await worker.stop();
    }
    expect(worker.worker.health().renderThreads).toBe(0);
  });
});
