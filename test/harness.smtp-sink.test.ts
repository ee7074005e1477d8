// The SMTP sink the delivery tests rely on, exercised with nodemailer: it accepts
// and parses, refuses on command (451 then accept, 550 until told otherwise, 421
// closing the connection), hangs, slows down, and fails at random repeatably.
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterEach(() => sink.reset());
afterAll(() => sink?.close());

/** Send one message on a fresh connection; resolves to nodemailer's info, or its error. */
async function send(to: string | string[], options: { socketTimeout?: number; subject?: string } = {}) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    socketTimeout: options.socketTimeout ?? 10_000,
  });
  try {
    return await transport.sendMail({
      from: 'mailroom@example.test',
      to,
      subject: options.subject ?? 'Hello from the harness',
      text: 'plain body',
      html: '<p>html <b>body</b></p>',
      messageId: '<harness-1@mailroom.test>',
      headers: { 'X-Outbox-Id': 'harness-1' },
    });
  } catch (error) {
    return error as Error & { responseCode?: number; response?: string; code?: string };
  } finally {
    transport.close();
  }
}

describe('the SMTP sink', () => {
  it('listens on 127.0.0.1 with an smtp:// url', () => {
    expect(sink.port).toBeGreaterThan(0);
    expect(sink.url).toBe(`smtp://127.0.0.1:${sink.port}`);
  });

  it('accepts by default, answers like a real server, and keeps the parsed message', async () => {
    const info = await send('Ada@Example.test');
    expect(info).not.toBeInstanceOf(Error);
    const { response } = info as { response: string };
    expect(response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]{10}$/);

    await sink.waitFor(1, 2000);
    const [message] = sink.messagesTo('ada@example.test');
    expect(message).toBeDefined();
    expect(response).toContain(message!.queueId);
    expect(message!.to).toBe('ada@example.test');
    expect(message!.from).toBe('mailroom@example.test');
    expect(message!.messageId).toBe('<harness-1@mailroom.test>');
    expect(message!.subject).toBe('Hello from the harness');
    expect(message!.text.trim()).toBe('plain body');
    expect(message!.html).toContain('<p>html <b>body</b></p>');
    expect(message!.headers.get('x-outbox-id')).toBe('harness-1');
    expect(message!.raw).toContain('Subject: Hello from the harness');
    expect(sink.attemptsFor('ADA@example.test')).toBe(1);
  });

  it('answers 451 twice, then accepts', async () => {
    sink.respond('grey@example.test', [451, 451]);
    const first = await send('grey@example.test');
    const second = await send('grey@example.test');
    const third = await send('grey@example.test');
    for (const refused of [first, second]) {
      expect(refused).toBeInstanceOf(Error);
      expect((refused as { responseCode?: number }).responseCode).toBe(451);
      expect((refused as { response?: string }).response).toMatch(/^451 4\.7\.1 /);
    }
    expect(third).not.toBeInstanceOf(Error);
    expect(sink.attemptsFor('grey@example.test')).toBe(3);
    expect(sink.messagesTo('grey@example.test')).toHaveLength(1);
  });

  it('answers 550 until told to accept again', async () => {
    sink.respond('gone@example.test', 550);
    for (let i = 0; i < 3; i++) {
      const refused = await send('gone@example.test');
      expect(refused).toBeInstanceOf(Error);
      expect((refused as { responseCode?: number }).responseCode).toBe(550);
      expect((refused as { response?: string }).response).toContain('gone@example.test');
    }
    expect(sink.messagesTo('gone@example.test')).toHaveLength(0);
    // Other recipients are not affected.
    expect(await send('other@example.test')).not.toBeInstanceOf(Error);

    sink.respond('gone@example.test', 'accept');
    expect(await send('gone@example.test')).not.toBeInstanceOf(Error);
    expect(sink.attemptsFor('gone@example.test')).toBe(4);
    expect(sink.messagesTo('gone@example.test')).toHaveLength(1);
  });

  it('answers 421 and closes the connection; the next connection is served', async () => {
    sink.respond('busy@example.test', [421]);
    const refused = await send('busy@example.test');
    expect(refused).toBeInstanceOf(Error);
    expect((refused as { responseCode?: number }).responseCode).toBe(421);
    expect(await send('busy@example.test')).not.toBeInstanceOf(Error);
    expect(sink.attemptsFor('busy@example.test')).toBe(2);
  });

  it("'hang' never answers the end of DATA, so the client times out", async () => {
    sink.respond('slow@example.test', 'hang');
    const started = Date.now();
    const error = await send('slow@example.test', { socketTimeout: 500 });
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(sink.attemptsFor('slow@example.test')).toBe(1);
    expect(sink.messagesTo('slow@example.test')).toHaveLength(0);
  });

  it('delays every answer when told to', async () => {
    sink.setDelay(300);
    const started = Date.now();
    expect(await send('late@example.test')).not.toBeInstanceOf(Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('fails at random, the same way for the same seed', async () => {
    const outcomes = async () => {
      sink.reset();
      sink.setRandomFailures(0.5, 451, 7);
      const codes: (number | 'ok')[] = [];
      for (let i = 0; i < 8; i++) {
        const result = await send(`r${i}@example.test`);
        codes.push(result instanceof Error ? (result as { responseCode?: number }).responseCode ?? -1 : 'ok');
      }
      return codes;
    };
    const first = await outcomes();
    const second = await outcomes();
    expect(second).toEqual(first);
    expect(first).toContain('ok');
    expect(first).toContain(451);
    expect(new Set(first)).toEqual(new Set(['ok', 451]));
  });

  it('keeps every envelope recipient, and waitFor takes a predicate and times out with a message', async () => {
    expect(await send(['one@example.test', 'two@example.test'])).not.toBeInstanceOf(Error);
    await sink.waitFor((messages) => messages.some((m) => m.recipients.length === 2), 2000);
    expect(sink.messagesTo('two@example.test')).toHaveLength(1);
    expect(sink.messagesTo('one@example.test')[0]!.recipients).toEqual(['one@example.test', 'two@example.test']);
    await expect(sink.waitFor(5, 100)).rejects.toThrow(/waited 100 ms for 5 message\(s\); it has accepted 1/);
  });

  it('reset() forgets messages, attempts and behaviours', async () => {
    sink.respond('x@example.test', 550);
    await send('x@example.test');
    await send('y@example.test');
    sink.reset();
    expect(sink.messages).toHaveLength(0);
    expect(sink.attemptsFor('x@example.test')).toBe(0);
    expect(await send('x@example.test')).not.toBeInstanceOf(Error);
  });
});

it('close() releases a hung delivery and stops listening', async () => {
  const own = await startSmtpSink();
  own.respond('stuck@example.test', 'hang');
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: own.port, ignoreTLS: true, socketTimeout: 30_000 });
  const pending = transport.sendMail({ from: 'a@example.test', to: 'stuck@example.test', subject: 's', text: 't' }).catch((e: unknown) => e);
  while (own.attemptsFor('stuck@example.test') === 0) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  await own.close();
  const error = (await pending) as { responseCode?: number };
  expect(error.responseCode).toBe(421);
  expect(Date.now() - started).toBeLessThan(5000);
  transport.close();
  const refused = await nodemailer
    .createTransport({ host: '127.0.0.1', port: own.port, ignoreTLS: true, connectionTimeout: 2000 })
    .sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 's', text: 't' })
    .catch((e: Error) => e);
  expect(refused).toBeInstanceOf(Error);
  expect((refused as Error).message).toMatch(/ECONNREFUSED/);
});
